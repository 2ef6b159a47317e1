"""Who may use the API: the bearer token for GraphQL and the first admin user for /admin.

`ensure_api_token` gives the token (MPR_API_TOKEN, else one generated once and kept in
`data_dir/api-token`, mode 0600); `ensure_admin_user` creates user "admin" if there is none.
`token_matches` checks an `Authorization` header value in constant time.
"""
from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from backend.config import Settings

TOKEN_FILE = "api-token"
ADMIN_USERNAME = "admin"


def token_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / TOKEN_FILE


def ensure_api_token(settings: Settings) -> tuple[str, bool]:
    """Return (token, created). `created` is True only when this call generated and stored it."""
    if settings.api_token:
        return settings.api_token, False
    path = token_path(settings)
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing, False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its token
        return path.read_text().strip(), False
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.chmod(path, 0o600)
    return token, True


def bearer_token(header_value: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value (scheme case-insensitive), else None."""
    if not header_value:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_matches(expected: str, header_value: str | None) -> bool:
    given = bearer_token(header_value)
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


MIN_ADMIN_PASSWORD = 8


async def ensure_admin_user(settings: Settings) -> str | None:
    """Create user "admin" (admin + superuser) if missing; return its generated password, else None.

    The password is `settings.admin_password` when set (then nothing is returned to print).
    An existing admin user is left as it is.
    """
    from piccolo.apps.user.tables import BaseUser

    exists = await BaseUser.exists().where(BaseUser.username == ADMIN_USERNAME)
    if exists:
        return None
    generated = None
    password = settings.admin_password
    if not password:
        password = generated = secrets.token_urlsafe(12)
    elif len(password) < MIN_ADMIN_PASSWORD:
        raise SystemExit(f"MPR_ADMIN_PASSWORD must be at least {MIN_ADMIN_PASSWORD} characters long")
    await BaseUser.create_user(
        username=ADMIN_USERNAME, password=password, admin=True, superuser=True, active=True
    )
    return generated
