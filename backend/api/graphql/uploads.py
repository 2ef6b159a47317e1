"""Upload names: whatever a browser sends ("../../etc/passwd", "C:\\x\\clip.mp4") becomes one safe basename."""
from __future__ import annotations

import posixpath
import re
import unicodedata

MAX_NAME = 200
_UNSAFE = re.compile(r"[\x00-\x1f\x7f:*?\"<>|]+")


def safe_upload_name(name: str | None) -> str:
    """A plain file name for the input area: last path part, no control/reserved characters, no leading dot."""
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/")
    text = text.rstrip("/").split("/")[-1]
    text = _UNSAFE.sub("_", text).strip().lstrip(".").strip()
    if not text:
        return "upload"
    if len(text) > MAX_NAME:
        stem, ext = posixpath.splitext(text)
        ext = ext[:16]
        text = stem[: MAX_NAME - len(ext)] + ext
    return text


async def upload_chunks(upload, chunk_size: int = 1 << 20):
    """Async chunks of an uploaded file (Litestar's UploadFile or anything with async read(n))."""
    while True:
        chunk = await upload.read(chunk_size)
        if not chunk:
            return
        yield chunk
