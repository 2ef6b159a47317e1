"""Sequences in and out of editing tools through OpenTimelineIO: `.otio` (OTIO JSON), CMX 3600
`.edl`, Final Cut Pro X `.fcpxml` and Final Cut Pro 7 / Premiere `.xml`. Plain data in, text out,
and back: no database, no assets — matching file names to assets is the caller's business.

A timeline has one video track; each clip is a range of one file (its name and, when known, its
path as the media reference's URL). Times are whole frames at the timeline's `rate` (the highest
source frame rate of the sequence), so export → import gives the same clips to the frame.

CMX 3600 has no frame rate in the file and 8-character reel names: the export writes the file
name in `* FROM CLIP NAME:` / `* FROM CLIP:` comments (what the adapter reads back), and the
import needs the rate: given, or the first of `EDL_RATES` at which every event's source and record
durations agree (the record column runs on without gaps, so a wrong rate shows as a mismatch).
"""
from __future__ import annotations

import posixpath
import re
import urllib.parse
from dataclasses import dataclass

import opentimelineio as otio

FORMATS = {"otio": "otio_json", "edl": "cmx_3600", "fcpxml": "fcpx_xml", "xml": "fcp_xml"}
EXTENSIONS = {"otio": ".otio", "edl": ".edl", "fcpxml": ".fcpxml", "xml": ".xml"}
EDL_RATES = (24, 25, 30, 50, 60)  # tried in order when an EDL is imported without its rate
MAX_TEXT = 5 * 1024 * 1024


class InterchangeError(ValueError):
    """The text is not a timeline this format's adapter can read, or the format is unknown."""


@dataclass(frozen=True)
class TimelineClip:
    """A range `start`..`end` (seconds) of the file `name` (`url`: where it is, when known)."""

    name: str
    start: float
    end: float
    url: str = ""
    reel: str = ""  # EDL reel name, as read
    duration: float | None = None  # the whole file's length (FCP X needs the media's range)


def _adapter(fmt: str) -> str:
    try:
        return FORMATS[fmt.lower()]
    except KeyError:
        raise InterchangeError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}") from None


def file_name(clip: TimelineClip) -> str:
    """The file name a clip refers to: its media reference's last path part, else its name."""
    if clip.url:
        path = urllib.parse.urlparse(clip.url).path if "://" in clip.url else clip.url
        base = posixpath.basename(urllib.parse.unquote(path).replace("\\", "/"))
        if base:
            return base
    return clip.name


def reel_name(name: str) -> str:
    """A CMX 3600 reel: at most 8 letters and digits of the file name (the full name goes in a comment)."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return (re.sub(r"[^0-9A-Za-z]", "", stem)[:8] or "AX").upper()


def build_timeline(name: str, clips: list[TimelineClip], rate: float) -> otio.schema.Timeline:
    timeline = otio.schema.Timeline(name=name)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for clip in clips:
        first = round(clip.start * rate)
        frames = max(1, round(clip.end * rate) - first)
        length = max(first + frames, round((clip.duration or 0.0) * rate))
        ref = otio.schema.ExternalReference(
            target_url=clip.url or clip.name,
            available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                                    otio.opentime.RationalTime(length, rate)))
        ref.name = clip.name
        track.append(otio.schema.Clip(
            name=clip.name, media_reference=ref, metadata={"cmx_3600": {"reel": reel_name(clip.name)}},
            source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(first, rate),
                                                 otio.opentime.RationalTime(frames, rate))))
    return timeline


def write_timeline(name: str, clips: list[TimelineClip], rate: float, fmt: str) -> str:
    """The sequence as text in `fmt` (otio | edl | fcpxml | xml)."""
    adapter = _adapter(fmt)
    if not clips:
        raise InterchangeError("an empty sequence has nothing to export")
    timeline = build_timeline(name, clips, rate)
    try:
        if adapter == "cmx_3600":
            return otio.adapters.write_to_string(timeline, adapter, rate=rate)
        return otio.adapters.write_to_string(timeline, adapter)
    except Exception as exc:  # noqa: BLE001 - the adapters raise many kinds
        raise InterchangeError(f"cannot write {fmt}: {exc}") from exc


def _timeline(result) -> otio.schema.Timeline:
    if isinstance(result, otio.schema.Timeline):
        return result
    if isinstance(result, otio.schema.SerializableCollection):
        for child in result.find_children(descended_from_type=otio.schema.Timeline):
            return child
    raise InterchangeError("the file holds no timeline")


def read_timeline(text: str, fmt: str, rate: float | None = None) -> tuple[str, list[TimelineClip]]:
    """(timeline name, its clips in play order on the first video track). `rate` is for EDLs."""
    adapter = _adapter(fmt)
    if len(text) > MAX_TEXT:
        raise InterchangeError(f"the {fmt} text is larger than {MAX_TEXT // (1024 * 1024)} MiB")
    rates = ((rate,) if rate else EDL_RATES) if adapter == "cmx_3600" else (None,)
    error = ""
    for attempt in rates:
        try:
            kwargs = {"rate": attempt} if attempt else {}
            timeline = _timeline(otio.adapters.read_from_string(text, adapter, **kwargs))
            break
        except InterchangeError:
            raise
        except Exception as exc:  # noqa: BLE001 - parse errors of every adapter
            error = error or str(exc)[:300]
    else:
        raise InterchangeError(f"cannot read this {fmt}: {error}")
    tracks = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video] or list(timeline.tracks)
    clips = []
    for item in (tracks[0] if tracks else []):
        if not isinstance(item, otio.schema.Clip):
            continue  # gaps and transitions: the sequence is its clips end to end
        span = item.source_range or item.trimmed_range()
        start = span.start_time.to_seconds()
        end = start + span.duration.to_seconds()
        ref = item.media_reference
        url = getattr(ref, "target_url", "") or ""
        reel = str((item.metadata.get("cmx_3600") or {}).get("reel") or "")
        clips.append(TimelineClip(name=item.name or "", start=round(start, 6), end=round(end, 6), url=url, reel=reel))
    return timeline.name or "", clips
