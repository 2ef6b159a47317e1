"""Helpers for the access-control tests: users of each role, their sessions and personal tokens."""
from __future__ import annotations

import uuid

from backend.catalog import accounts, api_tokens, sessions

PASSWORD = "correct horse battery"


async def make_user(role: str, name: str | None = None, password: str = PASSWORD) -> accounts.User:
    """A new active user with `role` (a unique name unless `name` is given)."""
    return await accounts.create_user(name or f"{role}-{uuid.uuid4().hex[:8]}", password, role)


async def session_headers(user: accounts.User) -> dict:
    """Headers of a browser signed in as `user` (its server-side session in the cookie)."""
    secret = await sessions.create_session(user.id, "test")
    return {"Cookie": f"mpr_session={secret}"}


async def token_headers(user: accounts.User, scope: str, **kw) -> tuple[dict, int]:
    token, info = await api_tokens.create_token(user, "test", scope, **kw)
    return {"Authorization": f"Bearer {token}"}, info.id


def code_of(body: dict) -> str | None:
    errors = body.get("errors") or []
    return (errors[0].get("extensions") or {}).get("code") if errors else None
