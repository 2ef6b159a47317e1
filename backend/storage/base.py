"""The storage vocabulary shared by every backend: `ObjectInfo`, `StorageError`, `safe_key`, the `Storage` protocol.

A *key* is a relative POSIX path ("holiday/clip 1.mp4") naming an object inside one storage area
('in', 'out' or 'thumbs'). Every backend runs caller-supplied keys through `safe_key` first, so a
key can never name something outside its area.
"""
from __future__ import annotations

import mimetypes
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Protocol, runtime_checkable

MAX_KEY_LENGTH = 1024  # MediaAsset.storage_key is Varchar(1024)
_CONTROL = re.compile("[\x00-\x1f\x7f]")  # what safe_key refuses (a regex: one C scan, not a loop per character)

# mimetypes misses or guesses wrong for a few media types we serve
_EXTRA_TYPES = {
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".m4a": "audio/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".ts": "video/mp2t",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
    ".jpg": "image/jpeg",
    ".m3u8": "application/vnd.apple.mpegurl",  # streaming packages (backend.media.ladder)
    ".mpd": "application/dash+xml",
    ".m4s": "video/iso.segment",
    ".vtt": "text/vtt",
}


class StorageError(Exception):
    """A key was refused, an object is missing, or the backend failed; str(e) says which."""


class StorageTooLarge(StorageError):
    """`write_stream` received more than `max_bytes`; nothing was kept."""


@dataclass
class ObjectInfo:
    key: str
    size: int
    mtime: float  # seconds since the epoch (local mtime, S3 LastModified)
    etag: str  # S3 ETag without quotes; local: "<size hex>-<mtime_ns hex>"


def safe_key(key: str) -> str:
    """Return `key` as a normalised relative POSIX key, or raise StorageError.

    Refused: empty keys, NUL or other control characters, backslashes (a Windows-style path
    separator that could smuggle '..'), absolute paths, drive letters and any '..' component.
    Redundant '/' and '.' components are dropped: "a//./b.mp4" -> "a/b.mp4".
    """
    if not isinstance(key, str):
        raise StorageError(f"key must be a string, got {type(key).__name__}")
    if key == "":
        raise StorageError("empty key")
    if _CONTROL.search(key):
        raise StorageError(f"control character (e.g. NUL) in key {key!r}")
    if "\\" in key:
        raise StorageError(f"backslash in key {key!r}")
    if key.startswith("/") or (len(key) >= 2 and key[1] == ":" and key[0].isalpha() and key[2:3] in ("", "/")):
        raise StorageError(f"absolute path not allowed as key: {key!r}")
    parts = [p for p in key.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise StorageError(f"'..' not allowed in key {key!r}")
    if not parts:
        raise StorageError(f"key {key!r} names no object")
    norm = "/".join(parts)
    if len(norm) > MAX_KEY_LENGTH:
        raise StorageError(f"key longer than {MAX_KEY_LENGTH} characters")
    return norm


def content_type_for(key: str) -> str:
    ext = posixpath.splitext(key)[1].lower()
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type(key, strict=False)[0] or "application/octet-stream"


def numbered_key(key: str, n: int) -> str:
    """'dir/clip.mp4', 2 -> 'dir/clip-2.mp4' (a leading-dot name keeps its dot: '.x' -> '.x-2')."""
    head, name = posixpath.split(key)
    stem, ext = posixpath.splitext(name)
    new = f"{stem}-{n}{ext}"
    return f"{head}/{new}" if head else new


@runtime_checkable
class Storage(Protocol):
    """Where the bytes of one area live. Every method takes keys as given by callers (checked)."""

    area: str

    def local_path(self, key: str) -> Path | None: ...

    async def stat(self, key: str) -> ObjectInfo | None: ...

    async def list(self, prefix: str = "") -> list[ObjectInfo]: ...

    async def put_file(self, local: Path, key: str, content_type: str | None = None) -> ObjectInfo: ...

    async def get_file(self, key: str, dest: Path) -> Path: ...

    async def delete(self, key: str) -> bool: ...

    async def write_stream(self, key: str, chunks: AsyncIterator[bytes], max_bytes: int) -> ObjectInfo: ...

    async def unique_key(self, key: str) -> str: ...

    def playback_url(self, key: str) -> str: ...

    def probe_source(self, key: str) -> str: ...


async def first_free_key(storage: Storage, key: str, limit: int = 10_000) -> str:
    """`key` if nothing is stored under it, else the first free 'name-N.ext' (N = 1, 2, ...)."""
    key = safe_key(key)
    if await storage.stat(key) is None:
        return key
    for n in range(1, limit):
        candidate = numbered_key(key, n)
        if await storage.stat(candidate) is None:
            return candidate
    raise StorageError(f"no free name like {key!r} after {limit} tries")
