"""Who may call which GraphQL field: ONE table, applied to every field of Query, Mutation and
Subscription by one field extension, which also writes the audit log of every mutation.

`PERMISSIONS` maps each root field (its GraphQL name) to the weakest role a user needs and the
weakest scope a personal token needs. A session is limited by its user's role only; a token by
both (a `read` token of an admin calls no mutation); the master token is an admin. `build_schema`
refuses to build when a root field is missing from the table, and `docs/access-control.md`
shows the same table (tests/api/test_permission_matrix.py checks both).

Refusals are GraphQL errors with `extensions.code`: UNAUTHENTICATED (no valid credential — the
HTTP view normally answers those with 401 before any field runs) or FORBIDDEN.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from strawberry.extensions import FieldExtension

from backend.api.graphql.context import api
from backend.catalog import audit
from backend.jobs.errors import DomainError


@dataclass(frozen=True)
class Rule:
    role: str  # viewer | editor | admin
    scope: str  # read | write | admin
    object: str = ""  # what a mutation acts on, for the audit log


READ = Rule("viewer", "read")
PERMISSIONS: dict[str, Rule] = {
    # queries
    "assets": READ, "asset": READ, "jobs": READ, "job": READ, "presets": READ, "systemStatus": READ,
    "trimPlan": READ,
    "templates": READ, "template": READ,
    "sequences": READ, "sequence": READ, "exportSequence": READ,
    "rules": READ, "ruleMatches": READ,  # automation rules and the dry run of a match: reading the library
    "me": READ,
    "mediaScan": READ,  # a background scan's progress and per-file errors (names under the input folder)
    "apiTokens": READ,  # a user's own tokens; an admin may ask for anyone's
    "users": Rule("admin", "admin"),
    "auditLog": Rule("admin", "admin"),
    "webhooks": Rule("admin", "admin"),  # URLs may hold a receiver's credentials
    "webhookDeliveries": Rule("admin", "admin"),
    # subscriptions
    "jobUpdates": READ,
    # mutations: editors upload, edit and run jobs
    "scanMediaFolder": Rule("editor", "write", "asset"),
    "startMediaScan": Rule("editor", "write", "asset"),
    "uploadAsset": Rule("editor", "write", "asset"),
    "updateAsset": Rule("editor", "write", "asset"),
    "deleteAsset": Rule("editor", "write", "asset"),
    "createJob": Rule("editor", "write", "job"),
    "cancelJob": Rule("editor", "write", "job"),
    "retryJob": Rule("editor", "write", "job"),
    "deleteJob": Rule("editor", "write", "job"),
    "deleteFinishedJobs": Rule("editor", "write", "job"),
    "createSequence": Rule("editor", "write", "sequence"),
    "updateSequence": Rule("editor", "write", "sequence"),
    "duplicateSequence": Rule("editor", "write", "sequence"),
    "deleteSequence": Rule("editor", "write", "sequence"),
    "renderSequence": Rule("editor", "write", "sequence"),
    "importSequence": Rule("editor", "write", "sequence"),
    # admins: presets, users
    "createPreset": Rule("admin", "admin", "preset"),
    "updatePreset": Rule("admin", "admin", "preset"),
    "deletePreset": Rule("admin", "admin", "preset"),
    "createTemplate": Rule("admin", "admin", "template"),
    "updateTemplate": Rule("admin", "admin", "template"),
    "deleteTemplate": Rule("admin", "admin", "template"),
    "createRule": Rule("admin", "admin", "rule"),  # rules queue jobs unattended: like presets, an admin's
    "updateRule": Rule("admin", "admin", "rule"),
    "deleteRule": Rule("admin", "admin", "rule"),
    "createUser": Rule("admin", "admin", "user"),
    "updateUser": Rule("admin", "admin", "user"),
    # admins: webhooks (MPR then POSTs to an address of the caller's choosing)
    "createWebhook": Rule("admin", "admin", "webhook"),
    "deleteWebhook": Rule("admin", "admin", "webhook"),
    "redeliverWebhook": Rule("admin", "admin", "webhook_delivery"),
    # everyone manages their own tokens (with a session, or a token of scope write or more)
    "createApiToken": Rule("viewer", "write", "api_token"),
    "revokeApiToken": Rule("viewer", "write", "api_token"),
}


def unauthenticated() -> DomainError:
    return DomainError("UNAUTHENTICATED", "sign in, or send 'Authorization: Bearer <token>'")


def forbidden(name: str, rule: Rule, identity) -> DomainError:
    what = f"role {rule.role}" if identity.scope is None else f"role {rule.role} and a token of scope {rule.scope}"
    have = f"role {identity.role}" if identity.scope is None else f"role {identity.role}, token scope {identity.scope}"
    return DomainError("FORBIDDEN", f"{name} needs {what}; you have {have}")


def require(info, name: str | None = None):
    """The caller's identity if the table lets it call field `name` (default: the current field)."""
    name = name or info.field_name
    identity = api(info).identity
    if identity is None:
        raise unauthenticated()
    rule = PERMISSIONS.get(name)
    if rule is None:  # cannot happen after check_table, but never default to allowed
        raise DomainError("FORBIDDEN", f"{name} is not in the permission table")
    if not identity.allows(rule.role, rule.scope):
        raise forbidden(name, rule, identity)
    return identity


def _object_id(kwargs: dict, result: Any) -> str:
    for key in ("id", "user_id", "token_id", "delivery_id"):
        if kwargs.get(key) is not None:
            return str(kwargs[key])
    for wrapper in ("api_token", "webhook"):  # a created thing inside its answer (with its secret)
        result = getattr(result, wrapper, result)
    value = getattr(result, "id", None)
    return str(value) if value is not None else ""


def _detail(exc: BaseException) -> str:
    code = getattr(exc, "code", "")
    return f"{code}: {getattr(exc, 'message', exc)}" if code else type(exc).__name__


class Guard(FieldExtension):
    """Checks the table before the resolver runs; for mutations, writes the audit event after."""

    def __init__(self, mutation: bool = False):
        self.mutation = mutation

    def resolve(self, next_, source, info, **kwargs):
        require(info)
        return next_(source, info, **kwargs)

    async def resolve_async(self, next_, source, info, **kwargs):
        if not self.mutation:
            require(info)
            result = next_(source, info, **kwargs)
            return await result if inspect.isawaitable(result) else result
        name = info.field_name
        ctx = api(info)
        identity = ctx.identity
        rule = PERMISSIONS.get(name, Rule("admin", "admin"))
        who = {"actor": identity.actor if identity else "anonymous",
               "user_id": identity.user_id if identity else None,
               "token_id": identity.token_id if identity else None,
               "client": identity.client if identity else ""}
        try:
            require(info)
            result = next_(source, info, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except BaseException as exc:
            await audit.record(name, object_type=rule.object, object_id=_object_id(kwargs, None), ok=False,
                               detail=_detail(exc), **who)
            raise
        await audit.record(name, object_type=rule.object, object_id=_object_id(kwargs, result), ok=True, **who)
        return result


def guard_type(cls, *, mutation: bool = False) -> None:
    """Put a `Guard` on every field of a strawberry type (before the schema is built)."""
    for field in cls.__strawberry_definition__.fields:
        if not any(isinstance(e, Guard) for e in field.extensions):
            field.extensions.append(Guard(mutation=mutation))


def check_table(schema) -> None:
    """Every root field of `schema` must be in PERMISSIONS (a new mutation cannot slip through)."""
    graphql = schema._schema
    missing = []
    for root in (graphql.query_type, graphql.mutation_type, graphql.subscription_type):
        if root is not None:
            missing += [f"{root.name}.{name}" for name in root.fields if name not in PERMISSIONS]
    if missing:
        raise RuntimeError(f"root fields without a permission rule: {', '.join(missing)} "
                           "(add them to backend/api/graphql/permissions.py and docs/access-control.md)")
