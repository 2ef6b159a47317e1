"""The audit log: who (a user, a personal token or the master token) did what to which object,
when, from where, and whether it was allowed. Written by the API for every mutation, login and
token change; read by the `auditLog` query and the admin."""
from __future__ import annotations

import logging

from backend.catalog.tables import AuditEvent

log = logging.getLogger("mpr.audit")


async def record(action: str, *, actor: str, user_id: int | None = None, token_id: int | None = None,
                 object_type: str = "", object_id: str | int | None = "", ok: bool = True, detail: str = "",
                 client: str = "") -> None:
    """Append one event; a failure to write is logged, never raised (the action itself stands)."""
    def text(value, limit: int) -> str:  # NUL cannot be stored in PostgreSQL text; the rest is kept
        return str(value if value is not None else "").replace("\x00", "\\0")[:limit]

    try:
        await AuditEvent.insert(AuditEvent(
            action=text(action, 64), actor=text(actor, 200), user_id=user_id, token_id=token_id,
            object_type=text(object_type, 32), object_id=text(object_id, 64),
            ok=ok, detail=text(detail, 2000), client=text(client, 64),
        ))
    except Exception:
        log.exception("could not write the audit event %s by %s", action, actor)


async def events(first: int = 100, action: str | None = None, user_id: int | None = None) -> list[dict]:
    """The newest `first` events (at most 1000), optionally of one action or one user."""
    query = AuditEvent.select().order_by(AuditEvent.id, ascending=False).limit(max(1, min(first, 1000)))
    if action:  # stored with NUL written as \0 (see `record`): look for it the same way
        query = query.where(AuditEvent.action == action.replace("\x00", "\\0")[:64])
    if user_id is not None:
        query = query.where(AuditEvent.user_id == user_id)
    return await query
