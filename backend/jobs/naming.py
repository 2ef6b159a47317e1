"""Output file names: sanitised, inside the output root, with the preset's extension, never clobbering.

Automation rules name their outputs with a pattern (`{stem}-{preset}`): `check_pattern` refuses a
pattern with unknown fields or unsafe characters when the rule is saved, `expand_pattern` fills it.
"""
from __future__ import annotations

import re
import string
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


PATTERN_FIELDS = ("stem", "preset", "rule", "asset", "date")
MAX_PATTERN = 200


def slug(name: str) -> str:
    """Lowercase letters, digits and dashes (a preset's or rule's name inside a file name)."""
    return re.sub(r"[^0-9A-Za-z]+", "-", name).strip("-").lower()


def check_pattern(pattern: str) -> str:
    """The pattern, or ValueError saying what is wrong with it. Fields: {stem} (the source file's
    name without extension), {preset} (the preset's or template's name as a slug), {rule} (the
    rule's name as a slug), {asset} (the source asset's id), {date} (UTC date, YYYY-MM-DD)."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise ValueError(f"the output pattern must have 1 to {MAX_PATTERN} characters")
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ValueError(f"the output pattern is not valid: {exc} (write braces as {{{{ and }}}})") from None
    for literal, name, spec, conversion in parsed:
        if _UNSAFE.search(literal):
            raise ValueError(f"the output pattern may not contain / \\ : * ? \" < > | or control characters")
        if name is not None and name in PATTERN_FIELDS and (spec or conversion):
            raise ValueError(f"write the field as {{{name}}}: no conversion or format in the output pattern")
        if name is not None and name not in PATTERN_FIELDS:
            raise ValueError(f"unknown field {{{name}}} in the output pattern; use {', '.join('{' + f + '}' for f in PATTERN_FIELDS)}")
    if not any(name for _, name, _, _ in parsed) and not sanitize_stem(pattern):
        raise ValueError("the output pattern has no usable characters")
    return pattern


def expand_pattern(pattern: str, **values: str) -> str:
    """A checked pattern filled with `values` (each already safe), cut to the longest stem allowed."""
    text = pattern.format(**{f: values.get(f, "") for f in PATTERN_FIELDS})
    text = _UNSAFE.sub("_", unicodedata.normalize("NFC", text)).strip(" .")
    return text[:MAX_NAME] or "output"
