"""Signed links that cover one streaming package (a job's output folder), not one file.

A player fetches `master.m3u8`, then media playlists, init and media segments, the storyboard
sprites — all by URLs relative to the playlist it read. A per-file `?exp=&sig=` link
(backend.api.http.media_links) does not survive that, so a package gets a signed PATH PREFIX:

    /media/pkg/<exp>/<sig>/<area>/<folder>/master.m3u8

`sig` is an HMAC (the media-links key, a purpose label of its own, so a file signature never
passes as a folder's) over `<area>/<folder>/` and `exp`. Every relative URL inside the package
resolves under the same prefix and is accepted; anything outside the signed folder (`..` is
refused by the storage's key rules) is not. Only files are served, never a listing, so the
folder is not an open directory. Expiry is rounded like media links (stable URLs for hours).
"""
from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from backend.api.http.media_links import SIG_HEX, expiry

PREFIX = "/media/pkg"


def _signature(key: bytes, folder: str, exp: int) -> str:
    return hmac.new(key, f"pkg:{folder}\n{exp}".encode(), hashlib.sha256).hexdigest()[:SIG_HEX]


def _folder(area: str, prefix: str) -> str:
    return f"{area}/{prefix.strip('/')}/"


def sign(key: bytes, area: str, prefix: str, entry: str, now: float | None = None) -> str:
    """The URL of `entry` (e.g. "master.m3u8") in package folder `prefix` of storage `area`,
    under a signature that covers the whole folder."""
    exp = expiry(time.time() if now is None else now)
    folder = _folder(area, prefix)
    return f"{PREFIX}/{exp}/{_signature(key, folder, exp)}/{quote(folder + entry, safe='/')}"


def covers(key: bytes, exp: str, sig: str, area: str, object_key: str, now: float | None = None) -> bool:
    """True when `sig` signs, until `exp` (still ahead), a folder of `area` that holds `object_key`:
    the folder is one of the key's parent folders (never the area's root)."""
    if not exp.isdigit() or int(exp) <= (time.time() if now is None else now):
        return False
    parts = object_key.split("/")
    sig = sig.strip().lower()
    for depth in range(1, len(parts)):
        folder = _folder(area, "/".join(parts[:depth]))
        if hmac.compare_digest(_signature(key, folder, int(exp)), sig):
            return True
    return False
