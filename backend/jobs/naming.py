"""Output file names: sanitised, inside the output root, with the preset's extension, never clobbering."""
from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")
MAX_NAME = 180


def sanitize_stem(name: str) -> str:
    """A safe file stem from whatever a person typed: no folders, no control or reserved characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").split("/")[-1]  # a path becomes its last part
    name = _UNSAFE.sub("_", name).strip().strip(".")
    stem = PurePosixPath(name).stem if "." in name else name
    stem = stem.strip(" .")
    return stem[:MAX_NAME]


def default_stem(source_filename: str, preset_name: str) -> str:
    preset_slug = re.sub(r"[^0-9A-Za-z]+", "-", preset_name).strip("-").lower() or "output"
    return f"{sanitize_stem(source_filename) or 'output'}-{preset_slug}"


def candidates(stem: str, extension: str):
    """`stem.ext`, `stem-1.ext`, `stem-2.ext`, … for the first free one."""
    yield f"{stem}{extension}"
    n = 1
    while True:
        yield f"{stem}-{n}{extension}"
        n += 1
