"""The admin's sign-in, made to follow MPR's rules.

`AdminUser` (piccolo's `piccolo_user` table) lets into /admin only an active user whose MPR role
is admin, throttles failed logins per user name (`LoginThrottle`, the per-address part is
piccolo's own rate limit, raised so one office behind a proxy is not locked out) and writes the
audit log. `HashedSessions` (piccolo_api's `sessions` table) stores the SHA-256 of each admin
session token instead of the token: the cookie keeps the secret, the database only its hash.
"""
from __future__ import annotations

import hashlib

from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.tables import SessionsBase

from backend.api.throttle import LoginThrottle
from backend.catalog import audit
from backend.catalog.accounts import check_password

ADMIN_THROTTLE = LoginThrottle()


class AdminUser(BaseUser, tablename="piccolo_user"):
    @classmethod
    async def login(cls, username: str, password: str) -> int | None:
        if ADMIN_THROTTLE.retry_after(username, ""):
            await audit.record("admin_login", actor=f"user:{username}"[:200], ok=False, detail="throttled")
            return None
        user = await check_password(username, password)
        if user is None or user.role != "admin":
            ADMIN_THROTTLE.failed(username, "")
            await audit.record("admin_login", actor=f"user:{username}"[:200], ok=False,
                               detail="wrong name or password" if user is None else f"role {user.role}: not an admin")
            return None
        ADMIN_THROTTLE.succeeded(username, "")
        await audit.record("admin_login", actor=f"user:{user.username}", user_id=user.id, object_type="user",
                           object_id=user.id)
        return user.id


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class HashedSessions(SessionsBase, tablename="sessions"):
    @classmethod
    async def create_session(cls, user_id, expiry_date=None, max_expiry_date=None):
        session = await super().create_session(user_id, expiry_date, max_expiry_date)
        secret = session.token
        await cls.update({cls.token: _hash(secret)}).where(cls.id == session.id)
        session.token = secret  # the caller puts this in the cookie; the row keeps only the hash
        return session

    @classmethod
    async def get_user_id(cls, token: str, increase_expiry=None):
        return await super().get_user_id(_hash(token or ""), increase_expiry)

    @classmethod
    async def remove_session(cls, token: str):
        await super().remove_session(_hash(token or ""))


def bind_like_base() -> None:
    """Use the engine the base tables use (tests and tools rebind those with catalog.db.bind_engine)."""
    AdminUser._meta.db = BaseUser._meta.db
    HashedSessions._meta.db = SessionsBase._meta.db
