"""What an automation rule matches: `RuleMatch` (path prefix and glob, containers, codecs, duration,
width/height, tags) and `matches(match, asset)` on an asset row. Pure data, no I/O.

Every empty or null field matches anything; a rule with no conditions matches every ready input.
Lists of containers and codecs mean "any of these"; tags mean "all of these". The container test
is on ffprobe's format name, which is a comma list ("mov,mp4,m4a,3gp,3g2,mj2"): a rule's
`mp4` matches it when any of the names is `mp4`. Used by `backend.jobs.rules` for firing and for
the dry run (`ruleMatches`).
"""
from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field, fields
from typing import Any

MAX_LIST = 50
MAX_TEXT = 512


class RuleMatchError(ValueError):
    """A match that cannot be right (min above max, a negative size, …); `field` names it."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field, self.message = field_name, message


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [value]
    return [str(v) for v in value or []]


@dataclass(frozen=True)
class RuleMatch:
    path_prefix: str = ""
    path_glob: str = ""
    containers: tuple[str, ...] = ()
    video_codecs: tuple[str, ...] = ()
    audio_codecs: tuple[str, ...] = ()
    min_duration: float | None = None
    max_duration: float | None = None
    min_width: int | None = None
    max_width: int | None = None
    min_height: int | None = None
    max_height: int | None = None
    tags: tuple[str, ...] = field(default=())

    @classmethod
    def from_row(cls, row: dict) -> "RuleMatch":
        """From an `automation_rule` row (a dict of its columns)."""
        values = {f.name: row.get(f.name) for f in fields(cls)}
        for name in ("containers", "video_codecs", "audio_codecs", "tags"):
            values[name] = tuple(_as_list(values[name]))
        for name in ("path_prefix", "path_glob"):
            values[name] = values[name] or ""
        return cls(**values)

    def columns(self) -> dict:
        """The `automation_rule` columns this match is stored in."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("containers", "video_codecs", "audio_codecs", "tags"):
            out[name] = list(out[name])
        return out


def validate_match(match: RuleMatch) -> RuleMatch:
    """The match, cleaned (lists lowercased and de-duplicated, tags kept as typed), or RuleMatchError."""
    for name in ("path_prefix", "path_glob"):
        value = getattr(match, name)
        if len(value) > MAX_TEXT or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise RuleMatchError(name, f"{name} must be at most {MAX_TEXT} printable characters")
        if value.startswith("/") or ".." in value.split("/"):
            raise RuleMatchError(name, f"{name} is relative to the input storage: no leading '/' or '..'")
    cleaned = {}
    for name in ("containers", "video_codecs", "audio_codecs", "tags"):
        items = [v.strip() for v in getattr(match, name) if v and v.strip()]
        if name != "tags":
            items = [v.lower() for v in items]
        if len(items) > MAX_LIST or any(len(v) > 128 or any(ord(c) < 32 or ord(c) == 127 for c in v) for v in items):
            raise RuleMatchError(name, f"{name}: at most {MAX_LIST} entries of at most 128 printable characters")
        cleaned[name] = tuple(dict.fromkeys(items))
    for low, high in (("min_duration", "max_duration"), ("min_width", "max_width"), ("min_height", "max_height")):
        lo, hi = getattr(match, low), getattr(match, high)
        for name, value in ((low, lo), (high, hi)):
            if value is not None and (value != value or value < 0):  # NaN or negative
                raise RuleMatchError(name, f"{name} must be 0 or more")
        if lo is not None and hi is not None and lo > hi:
            raise RuleMatchError(low, f"{low} ({lo}) is above {high} ({hi})")
    return RuleMatch(**{**{f.name: getattr(match, f.name) for f in fields(match)}, **cleaned})


def _within(value: float | None, low: float | None, high: float | None) -> bool:
    if low is None and high is None:
        return True
    if value is None:  # unknown (no video for a resolution test): a bounded rule does not match
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def matches(match: RuleMatch, asset: dict) -> bool:
    """Whether an asset row (a dict of `media_asset` columns) meets every condition of `match`."""
    key = asset.get("storage_key") or ""
    if match.path_prefix and not key.startswith(match.path_prefix):
        return False
    if match.path_glob and not fnmatch.fnmatchcase(key, match.path_glob):
        return False
    if match.containers:
        names = {n.strip().lower() for n in (asset.get("container") or "").split(",")}
        if not names & set(match.containers):
            return False
    if match.video_codecs and (asset.get("video_codec") or "").lower() not in match.video_codecs:
        return False
    if match.audio_codecs and (asset.get("audio_codec") or "").lower() not in match.audio_codecs:
        return False
    if not _within(asset.get("duration"), match.min_duration, match.max_duration):
        return False
    if not _within(asset.get("width"), match.min_width, match.max_width):
        return False
    if not _within(asset.get("height"), match.min_height, match.max_height):
        return False
    if match.tags:
        have = set(_as_list(asset.get("tags")))
        if not set(match.tags) <= have:
            return False
    return True


def asset_version(asset: dict) -> str:
    """What makes one version of an asset's file: the etag (S3) or size + mtime (a local file)."""
    if asset.get("etag"):
        return f"e{asset['etag']}"
    return f"s{asset.get('size') or 0}m{float(asset.get('mtime') or 0.0):.6f}"
