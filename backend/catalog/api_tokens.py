"""Personal API tokens: `mpr_<prefix>_<secret>`, scoped, optionally expiring, shown once.

The row keeps the prefix (to find it) and the SHA-256 of the whole token (compared in constant
time); the token itself is returned once by `create_token` and never stored. A verified token is
remembered for a few seconds (`credential_cache`; revoking here forgets at once). Scopes, weakest
first: `read` (queries and subscriptions), `write` (an editor's mutations), `admin` (everything);
a token can never hold more than its user's role allows (see `max_scope`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from backend.catalog import credential_cache
from backend.catalog.accounts import ROLE_RANK, AccountError, User, clean_text, user_by_id
from backend.catalog.tables import ApiToken

PREFIX = "mpr_"
SCOPES = ("read", "write", "admin")
SCOPE_RANK = {name: rank for rank, name in enumerate(SCOPES)}
LAST_USED_STEP = 60  # seconds: last_used_at is written at most this often (not one write per request)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user_id: int
    name: str
    prefix: str
    scope: str
    created_at: dt.datetime | None
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: dict) -> "TokenInfo":
        return cls(**{k: row.get(k) for k in cls.__dataclass_fields__})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def max_scope(role: str) -> str:
    """The strongest scope a user of `role` may give a token (viewer → read, editor → write)."""
    return SCOPES[ROLE_RANK[role]]


def check_scope(scope: str, user: User) -> str:
    scope = (scope or "").strip().lower()
    if scope not in SCOPE_RANK:
        raise AccountError("INVALID_INPUT", f"scope must be one of {', '.join(SCOPES)}, got {scope!r}", "scope")
    if SCOPE_RANK[scope] > SCOPE_RANK[max_scope(user.role)]:
        raise AccountError("FORBIDDEN", f"role {user.role} may create tokens up to scope "
                                        f"{max_scope(user.role)!r}, not {scope!r}", "scope")
    return scope


async def create_token(user: User, name: str, scope: str, expires_at: dt.datetime | None = None
                       ) -> tuple[str, TokenInfo]:
    """(the token, shown once; its record)."""
    scope = check_scope(scope, user)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
        if expires_at <= _now():
            raise AccountError("INVALID_INPUT", "expiresAt must be in the future", "expires_at")
    prefix = secrets.token_hex(6)
    token = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken(user_id=user.id, name=clean_text(name, "name", 128), prefix=prefix, secret_hash=_hash(token),
                   scope=scope, created_at=_now(), expires_at=expires_at)
    await row.save()
    return token, await token_info(row.id)


async def token_info(token_id: int) -> TokenInfo | None:
    row = await ApiToken.select().where(ApiToken.id == token_id).first()
    return TokenInfo.from_row(row) if row else None


def looks_like_token(value: str) -> bool:
    """`mpr_` + 12 hex digits + `_` + the secret: anything else is not looked up at all."""
    if not value.startswith(PREFIX) or value.count("_") < 2:
        return False
    prefix = value[len(PREFIX):].split("_", 1)[0]
    return len(prefix) == 12 and all(ch in "0123456789abcdef" for ch in prefix)


async def token_user(token: str) -> tuple[TokenInfo, User] | None:
    """(token record, its user) of a live personal token, else None (unknown, wrong secret,
    revoked, expired, or its user deactivated)."""
    if not looks_like_token(token or ""):
        return None
    hashed = _hash(token)
    cached = credential_cache.get("token:" + hashed)  # a few seconds at most (backend.catalog.credential_cache)
    if cached is not None:
        return cached
    prefix = token[len(PREFIX):].split("_", 1)[0]
    row = await ApiToken.select().where(ApiToken.prefix == prefix).first()
    if row is None or not hmac.compare_digest(row["secret_hash"], hashed):
        return None
    info = TokenInfo.from_row(row)
    if info.revoked_at is not None or (info.expires_at is not None and info.expires_at <= _now()):
        return None
    user = await user_by_id(info.user_id)
    if user is None:
        return None
    if info.last_used_at is None or info.last_used_at < _now() - dt.timedelta(seconds=LAST_USED_STEP):
        await ApiToken.update({ApiToken.last_used_at: _now()}).where(ApiToken.id == info.id)
    credential_cache.put("token:" + hashed, (info, user), info.expires_at)
    return info, user


async def list_tokens(user_id: int | None = None) -> list[TokenInfo]:
    """Tokens of one user (or of everyone), newest first."""
    query = ApiToken.select().order_by(ApiToken.id, ascending=False)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return [TokenInfo.from_row(r) for r in await query]


async def revoke_token(token_id: int) -> TokenInfo:
    info = await token_info(token_id)
    if info is None:
        raise AccountError("NOT_FOUND", f"api token {token_id} does not exist")
    if info.revoked_at is None:
        await ApiToken.update({ApiToken.revoked_at: _now()}).where(ApiToken.id == token_id)
    credential_cache.forget_all()
    return await token_info(token_id)
