"""/admin: piccolo-admin over the catalog tables, the users' roles, tokens, the audit log and webhooks.

Sign-in: only active users with the MPR role admin (`admin_auth.AdminUser`), admin session tokens
stored hashed (`admin_auth.HashedSessions`). Over TLS (directly or through a trusted proxy's
X-Forwarded-Proto) the admin runs with `production=True`: Secure cookies and its CSRF Referer check.
Every row it creates, updates or deletes is written to the audit log (`admin_audit.audited`).

Mounted with copy_scope so the admin sees paths relative to /admin; a bare /admin redirects to
/admin/ (the admin's assets are relative and 404 otherwise). The admin app (FastAPI + pydantic
models, ~1 s to build) is built on the first /admin request and shared by every app in the process.
"""
from __future__ import annotations

import functools

from litestar import asgi
from litestar.types import Receive, Scope, Send
from piccolo_admin.endpoints import TableConfig, create_admin
from piccolo_api.rate_limiting.middleware import InMemoryLimitProvider

from backend.api.http.admin_audit import audited
from backend.api.http.admin_auth import AdminUser, HashedSessions, bind_like_base
from backend.api.identity import is_secure
from backend.catalog.tables import (
    ApiToken,
    AuditEvent,
    AutomationRule,
    JobTransition,
    MediaAsset,
    OutputTemplate,
    RuleFiring,
    Sequence,
    TranscodeJob,
    TranscodePreset,
    UserRole,
    WebhookDelivery,
    WebhookEndpoint,
)

# per client address; per user name AdminUser throttles (5 failures): an office behind one proxy
# is not locked out by one person's typos
ADMIN_LOGIN_LIMIT = 200


@functools.cache
def build_admin(production: bool = False):
    return create_admin(
        tables=[
            TableConfig(MediaAsset, visible_columns=[MediaAsset.id, MediaAsset.filename, MediaAsset.status,
                                                     MediaAsset.storage_area, MediaAsset.duration, MediaAsset.size]),
            TableConfig(TranscodeJob, visible_columns=[TranscodeJob.id, TranscodeJob.source, TranscodeJob.status,
                                                       TranscodeJob.progress, TranscodeJob.output_filename,
                                                       TranscodeJob.attempt, TranscodeJob.created_at]),
            TranscodePreset,
            TableConfig(OutputTemplate, visible_columns=[OutputTemplate.id, OutputTemplate.name, OutputTemplate.builtin,
                                                         OutputTemplate.packaging, OutputTemplate.segment_seconds]),
            TableConfig(Sequence, visible_columns=[Sequence.id, Sequence.name, Sequence.created_by,
                                                   Sequence.updated_at]),
            JobTransition,
            TableConfig(AutomationRule, visible_columns=[AutomationRule.id, AutomationRule.name, AutomationRule.enabled,
                                                         AutomationRule.priority, AutomationRule.path_prefix,
                                                         AutomationRule.path_glob, AutomationRule.preset_id,
                                                         AutomationRule.template_id, AutomationRule.output_pattern]),
            TableConfig(RuleFiring, visible_columns=[RuleFiring.id, RuleFiring.rule, RuleFiring.asset,
                                                     RuleFiring.job_id, RuleFiring.error, RuleFiring.created_at]),
            TableConfig(AuditEvent, visible_columns=[AuditEvent.id, AuditEvent.at, AuditEvent.actor, AuditEvent.action,
                                                     AuditEvent.object_type, AuditEvent.object_id, AuditEvent.ok]),
            UserRole,
            TableConfig(ApiToken, exclude_visible_columns=[ApiToken.secret_hash]),
            # the signing secret is not listed (it is shown once, by createWebhook); see docs/webhooks.md
            TableConfig(WebhookEndpoint, exclude_visible_columns=[WebhookEndpoint.secret]),
            TableConfig(WebhookDelivery, visible_columns=[
                WebhookDelivery.id, WebhookDelivery.endpoint, WebhookDelivery.event_type, WebhookDelivery.status,
                WebhookDelivery.attempts, WebhookDelivery.response_code, WebhookDelivery.latency_ms,
                WebhookDelivery.next_attempt_at, WebhookDelivery.created_at]),
        ],
        site_name="MPR admin",
        auth_table=AdminUser,
        session_table=HashedSessions,
        production=production,
        rate_limit_provider=InMemoryLimitProvider(limit=ADMIN_LOGIN_LIMIT, timespan=300),
    )


@functools.cache
def audited_admin(production: bool = False):
    """The admin with its row writes recorded in the audit log (backend.api.http.admin_audit)."""
    return audited(build_admin(production))


def _secure(scope: Scope, trusted: tuple[str, ...]) -> bool:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
    peer = (scope.get("client") or ("",))[0]
    return is_secure(scope.get("scheme", "http"), peer, headers.get("x-forwarded-proto"), trusted)


def admin_mount():
    @asgi("/admin", is_mount=True, copy_scope=True)
    async def admin(scope: Scope, receive: Receive, send: Send) -> None:
        requested = (scope.get("raw_path") or b"").split(b"?")[0]
        if scope["type"] == "http" and scope.get("path", "") in ("", "/") and requested.endswith(b"/admin"):
            await send({"type": "http.response.start", "status": 308,
                        "headers": [(b"location", b"/admin/"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        bind_like_base()
        settings = scope["app"].state.settings if scope.get("app") is not None else None
        trusted = settings.trusted_proxies if settings is not None else ()
        await audited_admin(_secure(scope, trusted))(scope, receive, send)

    return admin
