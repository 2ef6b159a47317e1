"""Server-side browser sessions and one-time login links, stored as SHA-256 of their secret.

A session secret lives only in the browser's HttpOnly cookie; the row keeps its hash, its user,
its expiry and when it was revoked. A login link (kind "link") is the same kind of row, good for
one use: `consume_link` marks it used in one conditional UPDATE, so two clicks cannot both win.
Lookups answer None for an unknown, expired or revoked secret and for a deactivated user; a live
session is remembered for a few seconds (`credential_cache`; ending sessions here forgets at once).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from backend.catalog import credential_cache
from backend.catalog.accounts import User, user_by_id
from backend.catalog.tables import UserSession

SESSION = "session"
LINK = "link"
SESSION_HOURS = 12
LINK_MINUTES = 15


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


async def _create(user_id: int, kind: str, lifetime: dt.timedelta, client: str) -> str:
    secret = secrets.token_urlsafe(32)
    await UserSession.insert(UserSession(token_hash=digest(secret), kind=kind, user_id=user_id,
                                         created_at=_now(), expires_at=_now() + lifetime, client=client[:64]))
    return secret


async def create_session(user_id: int, client: str = "", hours: float = SESSION_HOURS) -> str:
    """A new session for `user_id`; returns the secret for the cookie (never stored)."""
    return await _create(user_id, SESSION, dt.timedelta(hours=hours), client)


async def create_login_link(user_id: int, minutes: float = LINK_MINUTES) -> str:
    """A one-time login secret (for `mpr up`'s link); returns it (never stored)."""
    return await _create(user_id, LINK, dt.timedelta(minutes=minutes), "")


def _live(query, kind: str, secret: str):
    return query.where(UserSession.token_hash == digest(secret or ""), UserSession.kind == kind,
                       UserSession.revoked_at.is_null(), UserSession.expires_at > _now())


async def session_user(secret: str) -> tuple[int, User] | None:
    """(session id, user) of a live session secret, else None."""
    if not secret:
        return None
    key = "session:" + digest(secret)
    cached = credential_cache.get(key)  # a few seconds at most (backend.catalog.credential_cache)
    if cached is not None:
        return cached
    row = await _live(UserSession.select(UserSession.id, UserSession.user_id, UserSession.expires_at), SESSION,
                      secret).first()
    if row is None:
        return None
    user = await user_by_id(row["user_id"])
    if user is None:
        return None
    found = (row["id"], user)
    expires_at = row["expires_at"]
    if expires_at is not None and expires_at.tzinfo is None:  # SQLite gives naive UTC
        expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
    credential_cache.put(key, found, expires_at)
    return found


async def consume_link(secret: str) -> User | None:
    """The user a one-time link logs in, marking it used; None if unknown, used or expired."""
    if not secret:
        return None
    rows = await _live(UserSession.update({UserSession.revoked_at: _now()}), LINK, secret).returning(
        UserSession.user_id)
    if not rows:
        return None
    return await user_by_id(rows[0]["user_id"])


async def revoke_session(secret: str) -> None:
    credential_cache.forget_all()
    await UserSession.update({UserSession.revoked_at: _now()}).where(
        UserSession.token_hash == digest(secret or ""), UserSession.revoked_at.is_null())


async def revoke_user_sessions(user_id: int) -> None:
    """End every session of a user (deactivation, password change)."""
    credential_cache.forget_all()
    await UserSession.update({UserSession.revoked_at: _now()}).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_null())
