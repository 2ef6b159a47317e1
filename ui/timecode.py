"""Timecodes for the timeline: HH:MM:SS.mmm formatting and parsing, snapping to frame boundaries.

Pure functions (no Reflex, no I/O) shared by the editor state; the browser script
(ui/components/timeline.js) mirrors `snap` for drags so both sides agree on frame edges.
"""
from __future__ import annotations

import math
import re

_TC = re.compile(r"^\s*(?:(?:(\d+):)?(\d{1,2}):)?(\d+(?:[.,]\d*)?)\s*$")


def format_tc(seconds: float | None) -> str:
    """01:02:03.456 style, milliseconds rounded; negative or missing values read as 0."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        seconds = 0.0
    total_ms = int(round(seconds * 1000))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def parse_tc(text: str) -> float:
    """Parse HH:MM:SS.mmm, MM:SS.mmm or plain seconds ("12.5"); raises ValueError with a readable reason."""
    match = _TC.match(text or "")
    if not match:
        raise ValueError(f"“{text.strip()}” is not a time: use HH:MM:SS.mmm")
    hours, minutes, secs = match.groups()
    if minutes is not None and int(minutes) >= 60:
        raise ValueError(f"“{text.strip()}”: minutes must be below 60")
    if minutes is not None and float(secs.replace(",", ".")) >= 60:
        raise ValueError(f"“{text.strip()}”: seconds must be below 60")
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(secs.replace(",", "."))


def snap(seconds: float, fps: float | None) -> float:
    """The start of the frame nearest to `seconds` (unchanged when the frame rate is unknown)."""
    if not fps or fps <= 0:
        return round(seconds, 3)
    return round(round(seconds * fps) / fps, 6)


def frame_duration(fps: float | None) -> float:
    return 1.0 / fps if fps and fps > 0 else 0.001


def format_duration(seconds: float | None) -> str:
    """Short human duration for lists: 4.0 → '0:04', 3725 → '1:02:05'."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "–"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
