"""How a source or destination is handed to ffmpeg/ffprobe: URLs untouched, local paths absolute.

A relative name starting with '-' is read as an option and one containing ':' as a protocol
("a:b.mp4" -> protocol "a"); an absolute path (leading '/') is always read as a plain file.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

_URL = re.compile(r"^(https?|s3|ftp|rtmps?|srt|udp|tcp)://", re.IGNORECASE)


def is_url(src: str | os.PathLike) -> bool:
    """True for http(s) and other network URLs (presigned S3 GETs included)."""
    return isinstance(src, str) and bool(_URL.match(src))


def ff_target(src: str | os.PathLike) -> str:
    """The argument to give ffmpeg for `src`: the URL as is, or the absolute local path."""
    if is_url(src):
        return str(src)
    text = os.fspath(src)
    if text.startswith("file:"):
        return text
    return str(Path(text).absolute())


def display_name(src: str | os.PathLike) -> str:
    """A short name for messages (no query string: presigned URLs carry credentials)."""
    if is_url(src):
        return str(src).split("?", 1)[0].rsplit("/", 1)[-1] or str(src).split("?", 1)[0]
    return Path(os.fspath(src)).name
