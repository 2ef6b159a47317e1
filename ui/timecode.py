"""Timecodes for the timeline: HH:MM:SS.mmm formatting and parsing, snapping to frame boundaries,
SMPTE HH:MM:SS:FF readouts (`format_smpte`; HH:MM:SS;FF drop-frame at 29.97 and 59.94 fps), and
the forms the in/out fields take (`parse_entry`): SMPTE (incl. drop-frame), frame counts ("150f")
and moves relative to the current value ("+2s", "-10f").

Pure functions (no Reflex, no I/O) shared by the editor state; the browser script
(ui/components/timeline.js) mirrors `snap` for drags so both sides agree on frame edges, and
`frame_to_smpte` for the playhead's readout.
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


_SMPTE = re.compile(r"^\s*(\d+):(\d{1,2}):(\d{1,2})([:;.])(\d{1,2})\s*$")
_FRAMES = re.compile(r"^\s*(\d+)\s*f\s*$", re.IGNORECASE)
_RELATIVE = re.compile(r"^\s*([+-])\s*(\d+(?:[.,]\d*)?)\s*(f|s|)\s*$", re.IGNORECASE)


DROP_FRAME_RATES = (30000 / 1001, 60000 / 1001)  # 29.97 and 59.94: the rates SMPTE drop-frame is for


def drop_frame(fps: float | None) -> bool:
    """Whether `fps` is an NTSC rate whose timecode is drop-frame (29.97 or 59.94, as probed: 29.97003)."""
    return bool(fps) and any(abs(fps - rate) < 0.01 for rate in DROP_FRAME_RATES)


def _dropped(nominal: int) -> int:
    """Labels skipped at the start of each minute (but every tenth): 2 at 30, 4 at 60."""
    return 2 * (nominal // 30)


def frame_to_smpte(frame: int, fps: float) -> str:
    """Frame number → HH:MM:SS:FF at `fps`; HH:MM:SS;FF (drop-frame labels) at 29.97 and 59.94."""
    nominal = round(fps)
    frame = max(int(frame), 0)
    sep = ":"
    if drop_frame(fps):
        sep, drop = ";", _dropped(nominal)
        per_minute = nominal * 60 - drop
        per_ten = per_minute * 10 + drop
        tens, rest = divmod(frame, per_ten)
        frame += drop * 9 * tens + (drop * ((rest - drop) // per_minute) if rest > drop else 0)
    frames = frame % nominal
    secs = frame // nominal
    return f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}{sep}{frames:02d}"


def smpte_to_frame(hours: int, minutes: int, secs: int, frames: int, fps: float, drop: bool) -> int:
    """SMPTE label → frame number; `drop` reads drop-frame labels (only at 29.97/59.94: frames 0 and 1,
    or 0-3, do not exist at the start of each minute except every tenth)."""
    nominal = round(fps)
    if frames >= nominal:
        raise ValueError(f"frame {frames} does not exist at {fps:g} fps (0–{nominal - 1})")
    total_minutes = hours * 60 + minutes
    count = (total_minutes * 60 + secs) * nominal + frames
    if drop:
        if not drop_frame(fps):
            raise ValueError(f"drop-frame timecode (;) is for 29.97 and 59.94 fps, not {fps:g}: use HH:MM:SS:FF")
        dropped = _dropped(nominal)
        if secs == 0 and frames < dropped and minutes % 10:
            raise ValueError(f"frame {frames} is skipped at the start of minute {minutes} in drop-frame timecode")
        count -= dropped * (total_minutes - total_minutes // 10)
    return count


def smpte_to_seconds(hours: int, minutes: int, secs: int, frames: int, fps: float, drop: bool) -> float:
    """SMPTE timecode to seconds (see `smpte_to_frame`)."""
    return smpte_to_frame(hours, minutes, secs, frames, fps, drop) / fps


def format_smpte(seconds: float | None, fps: float | None) -> str:
    """The readout: the frame at `seconds` (nearest frame start, as `snap`) as SMPTE at `fps`,
    drop-frame where the rate needs it; HH:MM:SS.mmm when the rate is unknown."""
    if not fps or fps <= 0:
        return format_tc(seconds)
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        seconds = 0.0
    return frame_to_smpte(round(seconds * fps), fps)


def parse_entry(text: str, fps: float | None, current: float = 0.0) -> float:
    """What a person types into an in/out field, in seconds. Besides `parse_tc`'s forms:
    HH:MM:SS:FF (SMPTE, frames at `fps`; HH:MM:SS;FF is drop-frame), "150f" (frames), and
    "+2s" / "-10f" / "+1.5" (relative to `current`). Raises ValueError with what to type."""
    match = _SMPTE.match(text or "")
    if match and match.group(4) != ".":
        if not fps or fps <= 0:
            raise ValueError("frame timecodes need the clip's frame rate: use HH:MM:SS.mmm")
        hours, minutes, secs, sep, frames = match.groups()
        if int(minutes) >= 60 or int(secs) >= 60:
            raise ValueError(f"“{text.strip()}”: minutes and seconds must be below 60")
        return smpte_to_seconds(int(hours), int(minutes), int(secs), int(frames), fps, sep == ";")
    match = _FRAMES.match(text or "")
    if match:
        if not fps or fps <= 0:
            raise ValueError("frame counts need the clip's frame rate: use seconds")
        return int(match.group(1)) / fps
    match = _RELATIVE.match(text or "")
    if match:
        sign, amount, unit = match.groups()
        value = float(amount.replace(",", "."))
        if unit.lower() == "f":
            if not fps or fps <= 0:
                raise ValueError("frame counts need the clip's frame rate: use seconds")
            value /= fps
        return current + (value if sign == "+" else -value)
    try:
        return parse_tc(text)
    except ValueError:
        raise ValueError(f"“{(text or '').strip()}” is not a time: use HH:MM:SS.mmm, HH:MM:SS:FF, "
                         "150f, or +2s / -10f") from None


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
