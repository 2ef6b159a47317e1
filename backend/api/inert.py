"""How /media serves a stored file so that it can never act as a page of the app's origin.

Every media response carries `X-Content-Type-Options: nosniff` and `Content-Security-Policy:
sandbox` (no scripts, an opaque origin even when opened directly). Only audio, video and raster
images are served inline, and the streaming-package texts a player fetches (HLS playlists, DASH
manifests, WebVTT cues: no browser renders them as a page); anything else (HTML, SVG, text, unknown) goes out as
`application/octet-stream` with `Content-Disposition: attachment`, so a browser downloads it.
"""
from __future__ import annotations

import posixpath
from urllib.parse import quote

INLINE_TYPES = ("audio/", "video/", "image/")
NEVER_INLINE = frozenset({"image/svg+xml"})  # SVG is a document that can carry scripts
STREAMING_TYPES = frozenset({"application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl",
                             "application/dash+xml", "text/vtt"})


def inert_media(media_type: str, key: str) -> tuple[str, dict[str, str]]:
    """(the Content-Type to send, extra headers) for a stored file named `key`."""
    headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
    base = media_type.split(";")[0].strip().lower()
    if (base.startswith(INLINE_TYPES) and base not in NEVER_INLINE) or base in STREAMING_TYPES:
        return media_type, headers
    headers["Content-Disposition"] = attachment(key)
    return "application/octet-stream", headers


def attachment(key: str) -> str:
    """`Content-Disposition` that saves the file under its own name (an ASCII fallback and the
    UTF-8 name; quotes, backslashes and control characters never reach the header)."""
    name = posixpath.basename(key) or "download"
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
