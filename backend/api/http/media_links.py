"""Signed /media links: a file is served only to whoever got its URL from the API, and only the
version of the file the URL was made for.

GraphQL hands out `/media/<area>/<key>?a=<asset id>&v=<version>&exp=<unix>&sig=<hex>`; the
signature is an HMAC over the path, the asset id, the version and the expiry, keyed by a key
derived from the API token, so a link cannot be forged, widened to another file, or extended.
The version is the file's size and mtime (`<size hex>-<mtime_ns hex>`, local storage) or the
object's ETag (S3): the route compares it with the file as it is now, and checks that the asset
still exists and still holds that file, so an old link never opens new content after the file
is replaced (or its id's asset deleted). Expiries are rounded to WINDOW, so the same file gets
the same URL for hours (browser caches and the UI's state keep working) and every link stays
valid for at least WINDOW after it was handed out. A `<video>` element cannot send a bearer
token, which is why the link carries its own proof; scripts may send the token instead.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote, urlencode

WINDOW = 12 * 3600  # a link is valid for WINDOW to 2 * WINDOW seconds after it is made
SIG_HEX = 32


def media_key(api_token: str) -> bytes:
    """The signing key for media links, derived so the API token itself never appears in a URL."""
    return hmac.new(api_token.encode(), b"mpr:media-links", hashlib.sha256).digest()


def expiry(now: float | None = None) -> int:
    now = time.time() if now is None else now
    return (int(now) // WINDOW + 2) * WINDOW


def _signature(key: bytes, path: str, exp: int, asset: str, version: str) -> str:
    message = f"{path}\n{exp}\n{asset}\n{version}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:SIG_HEX]


def sign(key: bytes, path: str, exp: int, *, version: str, asset: int | None = None) -> str:
    """`path` (already quoted, as `media_path` gives it) with its asset id, version, exp and sig."""
    asset_text = "" if asset is None else str(int(asset))
    query = {"v": version, "exp": str(exp), "sig": _signature(key, path, exp, asset_text, version)}
    if asset_text:
        query = {"a": asset_text, **query}
    return f"{path}?{urlencode(query)}"


def verify(key: bytes, path: str, exp: str | None, sig: str | None, *, version: str | None,
           asset: str | None = None, now: float | None = None) -> bool:
    """True when `sig` signs `path` with this asset id and version until `exp`, and `exp` is still
    ahead. Whether the version and the asset are still the current ones is the caller's check."""
    if not exp or not sig or not exp.isdigit() or version is None:
        return False
    if asset is not None and not asset.isdigit():
        return False
    now = time.time() if now is None else now
    if int(exp) <= now:
        return False
    return hmac.compare_digest(_signature(key, path, int(exp), asset or "", version), sig.strip().lower())


def media_path(area: str, key: str) -> str:
    """The canonical /media path of `key` in storage `area` (what a link signs), for every backend."""
    return f"/media/{area}/{quote(key, safe='/')}"
