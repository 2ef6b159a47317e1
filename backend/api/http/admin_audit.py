"""Row edits made through piccolo-admin go into the audit log like every GraphQL mutation.

`audited(admin_app)` wraps the admin's ASGI app. For each write to its table API
(`POST /api/tables/<table>/` create, `PUT|PATCH /api/tables/<table>/<id>/` update,
`DELETE /api/tables/<table>/<id>/` delete, `DELETE /api/tables/<table>/?<filter>` bulk delete) and
to `/api/change-password/`, once the admin has answered, it writes one audit event:

- action `admin_create` | `admin_update` | `admin_delete` | `admin_change_password`;
- actor `user:<name>` and user id, from the admin session cookie (the same hashed session the
  admin itself checks, `admin_auth.HashedSessions`);
- object type = the table's name, object id = the row id (a create's from the admin's answer;
  a bulk delete's filter in the detail);
- ok = whether the admin accepted it (2xx); detail = the HTTP status and the names of the
  columns sent (never their values: a password or a token hash may be among them).

Requests without a valid admin session are refused by the admin before any write and are not
logged here (the failed sign-ins are, by `admin_auth.AdminUser.login`).
"""
from __future__ import annotations

import json
import re
from http.cookies import SimpleCookie
from urllib.parse import unquote

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.http.admin_auth import AdminUser, HashedSessions
from backend.catalog import audit

ACTIONS = {"POST": "admin_create", "PUT": "admin_update", "PATCH": "admin_update", "DELETE": "admin_delete"}
_TABLE_PATH = re.compile(r"^/api/tables/(?P<table>[A-Za-z0-9_]+)/(?:(?P<row>[^/]+)/)?$")
_PASSWORD_PATH = "/api/change-password/"
MAX_CAPTURE = 256 * 1024  # bytes of request/response body kept to name columns and the new id
SESSION_COOKIE = "id"  # piccolo_api's session cookie


def _what(method: str, path: str) -> tuple[str, str, str] | None:
    """(action, table, row id) of an admin write, or None for anything else."""
    if method == "POST" and path == _PASSWORD_PATH:
        return "admin_change_password", "piccolo_user", ""
    match = _TABLE_PATH.match(path)
    if match is None or method not in ACTIONS:
        return None
    row = unquote(match["row"] or "")
    if method == "POST" and row:  # POST below a row is not a write piccolo-admin makes
        return None
    if method in ("PUT", "PATCH") and not row:
        return None
    return ACTIONS[method], match["table"], row


async def _actor(scope: Scope) -> tuple[str, int] | None:
    """("user:<name>", id) of the admin session in the request's cookies, or None."""
    raw = "; ".join(v.decode("latin-1") for k, v in scope.get("headers") or [] if k.lower() == b"cookie")
    cookie = SimpleCookie()
    try:
        cookie.load(raw)
    except Exception:  # noqa: BLE001 - a malformed cookie header: no session
        return None
    token = cookie.get(SESSION_COOKIE)
    if token is None or not token.value:
        return None
    user_id = await HashedSessions.get_user_id(token.value)
    if not user_id:
        return None
    row = await AdminUser.select(AdminUser.username).where(AdminUser.id == user_id).first()
    return (f"user:{row['username'] if row else user_id}", int(user_id))


def _columns(body: bytes) -> list[str]:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return []
    return sorted(str(k) for k in data) if isinstance(data, dict) else []


def _created_id(body: bytes) -> str:
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return ""
    first = data[0] if isinstance(data, list) and data else data
    return str(first.get("id", "")) if isinstance(first, dict) else ""


def audited(app: ASGIApp) -> ASGIApp:
    """`app` (piccolo-admin) with every row write recorded in the audit log after it is answered."""

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        what = _what(scope.get("method", ""), scope.get("path", "")) if scope["type"] == "http" else None
        if what is None:
            await app(scope, receive, send)
            return
        action, table, row_id = what
        sent, answered = bytearray(), bytearray()
        status, recorded = 0, False

        async def record() -> None:
            nonlocal recorded
            if recorded:
                return
            recorded = True
            actor = await _actor(scope)
            if actor is None:
                return
            ok = 200 <= status < 300
            target = row_id
            if action == "admin_create":
                target = _created_id(bytes(answered)) if ok else ""
            elif action == "admin_change_password":
                target = str(actor[1])
            detail = f"via /admin, HTTP {status or 'no answer'}"
            columns = [] if action == "admin_change_password" else _columns(bytes(sent))
            if columns:
                detail += "; columns: " + ", ".join(columns)
            query = scope.get("query_string", b"").decode("latin-1")
            if action == "admin_delete" and not row_id and query:
                detail += f"; filter: {query[:500]}"
            await audit.record(action, actor=actor[0], user_id=actor[1], object_type=table, object_id=target,
                               ok=ok, detail=detail, client=(scope.get("client") or ("",))[0])

        async def receive_body() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(sent) < MAX_CAPTURE:
                sent.extend(message.get("body", b"")[: MAX_CAPTURE - len(sent)])
            return message

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if action != "admin_create" or status == 204:  # a 204 is complete with its headers
                    await record()
            elif message["type"] == "http.response.body":
                if action == "admin_create" and len(answered) < MAX_CAPTURE:
                    answered.extend(message.get("body", b"")[: MAX_CAPTURE - len(answered)])
                if not message.get("more_body", False):
                    await record()  # on record before the client sees the answer
            await send(message)

        try:
            await app(scope, receive_body, send_status)
        finally:
            await record()  # the admin failed before answering completely: still on record

    return wrapper
