"""Signed /media links: a local file is served only to whoever got its URL from the API.

GraphQL hands out `/media/<area>/<key>?exp=<unix>&sig=<hex>`; the signature is an HMAC over the
path and the expiry, keyed by a key derived from the API token, so a link cannot be forged,
widened to another file, or extended. Expiries are rounded to WINDOW, so the same file gets the
same URL for hours (browser caches and the UI's state keep working) and every link stays valid
for at least WINDOW after it was handed out. A `<video>` element cannot send a bearer token,
which is why the link carries its own proof; scripts may send the token instead.

A download link (`download_url`) adds `dl=1`, and its signature covers it (a different message),
so /media answers it with `Content-Disposition: attachment` while the same file's playback link
still plays inline; neither link can be turned into the other.
"""
from __future__ import annotations

import hashlib
import hmac
import time

WINDOW = 12 * 3600  # a link is valid for WINDOW to 2 * WINDOW seconds after it is made
SIG_HEX = 32


def media_key(api_token: str) -> bytes:
    """The signing key for media links, derived so the API token itself never appears in a URL."""
    return hmac.new(api_token.encode(), b"mpr:media-links", hashlib.sha256).digest()


def expiry(now: float | None = None) -> int:
    now = time.time() if now is None else now
    return (int(now) // WINDOW + 2) * WINDOW


def _signature(key: bytes, path: str, exp: int, download: bool = False) -> str:
    message = f"{path}\n{exp}" + ("\ndownload" if download else "")
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:SIG_HEX]


def sign(key: bytes, path: str, exp: int, download: bool = False) -> str:
    """`path` (already quoted, as a storage's playback_url gives it) with its exp and sig; with
    `download`, a `dl=1` link (served as an attachment) whose signature covers that."""
    dl = "dl=1&" if download else ""
    return f"{path}?{dl}exp={exp}&sig={_signature(key, path, exp, download)}"


def verify(key: bytes, path: str, exp: str | None, sig: str | None, now: float | None = None,
           download: bool = False) -> bool:
    """True when `sig` signs `path` (as a download link when `download`) until `exp`, still ahead."""
    if not exp or not sig or not exp.isdigit():
        return False
    now = time.time() if now is None else now
    if int(exp) <= now:
        return False
    return hmac.compare_digest(_signature(key, path, int(exp), download), sig.strip().lower())
