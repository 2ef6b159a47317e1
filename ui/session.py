"""Signed login cookie for the UI when it is bound beyond loopback.

After the API accepted a person's credentials, the UI stores "<username>|<expiry>|<hmac>" in a
cookie; the HMAC key is derived from the API token, which only the server knows. Pure functions.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SESSION_SECONDS = 12 * 3600
_fallback_key = secrets.token_bytes(32)  # no API token yet: sessions last as long as this process


def _key(secret: str | None) -> bytes:
    if not secret:
        return _fallback_key
    return hashlib.sha256(b"mpr-ui-session:" + secret.encode()).digest()


def issue(username: str, secret: str | None, now: float | None = None) -> str:
    expiry = int((now or time.time()) + SESSION_SECONDS)
    body = f"{username}|{expiry}"
    mac = hmac.new(_key(secret), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}|{mac}"


def verify(value: str, secret: str | None, now: float | None = None) -> str | None:
    """The username the cookie was issued to, or None if it is forged, malformed or expired."""
    try:
        username, expiry, mac = (value or "").rsplit("|", 2)
        expires = int(expiry)
    except ValueError:
        return None
    body = f"{username}|{expiry}"
    good = hmac.new(_key(secret), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(good, mac) or expires < (now or time.time()) or not username:
        return None
    return username
