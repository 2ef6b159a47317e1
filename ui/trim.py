"""Checks a selection on the timeline before a job is submitted, with the message shown inline.

Mirrors the server's INVALID_TRIM rules (backend.jobs.service.validate_trim: an out point up to
one frame or 50 ms past the probed end is accepted) so the person sees the reason before
pressing Submit; the API still has the last word. The UI may not import the jobs layer.
"""
from __future__ import annotations

from ui.timecode import format_tc

END_TOLERANCE = 0.05


def trim_problem(in_s: float, out_s: float, duration: float | None, fps: float | None) -> str:
    """'' when the selection can be submitted, else one sentence saying what is wrong."""
    if duration is None or duration <= 0:
        return "This asset has no known duration, so it cannot be trimmed."
    frame = 1.0 / fps if fps and fps > 0 else 0.0
    tolerance = max(END_TOLERANCE, frame)
    if in_s < 0:
        return "The in point is before the start of the clip; use 00:00:00.000 or later."
    if in_s >= duration:
        return (f"The in point {format_tc(in_s)} is at or past the end of the clip "
                f"({format_tc(duration)}).")
    if out_s > duration + tolerance:
        return (f"The out point {format_tc(out_s)} is past the end of the clip "
                f"({format_tc(duration)}).")
    if out_s <= in_s:
        return f"The out point {format_tc(out_s)} must come after the in point {format_tc(in_s)}."
    if frame and min(out_s, duration) - in_s < frame - 1e-6:
        return "The selection is shorter than one frame; widen it."
    return ""
