"""Display records for the UI (what the components render), built from the API's camelCase dicts.

Everything a component shows is precomputed here as text (durations, sizes, ETA) so the
components stay declarative and the browser does no formatting.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

from ui.statuses import ACTIVE, PENDING, QUEUED, RETRYABLE, RUNNING, SUCCEEDED
from ui.timecode import format_duration, format_tc


@dataclasses.dataclass
class AssetRow:
    id: str = ""
    name: str = ""
    area: str = "in"
    status: str = PENDING
    error: str = ""
    duration_text: str = ""
    resolution: str = ""
    codecs: str = ""
    poster_url: str = ""


@dataclasses.dataclass
class AssetDetail:
    id: str = ""
    name: str = ""
    area: str = "in"
    key: str = ""
    status: str = ""
    error: str = ""
    duration: float = 0.0
    fps: float = 0.0
    width: int = 0
    height: int = 0
    media_url: str = ""
    poster_url: str = ""
    filmstrip_url: str = ""
    filmstrip_frames: int = 0
    waveform_url: str = ""  # the audio peaks file (docs/analysis.md), drawn by timeline.js
    scene_cuts: list[float] = dataclasses.field(default_factory=list)
    keyframes: list[float] = dataclasses.field(default_factory=list)
    black_ranges: list[list[float]] = dataclasses.field(default_factory=list)  # [start, end]
    silence_ranges: list[list[float]] = dataclasses.field(default_factory=list)
    tags: list[str] = dataclasses.field(default_factory=list)
    comments: str = ""
    facts: list[list[str]] = dataclasses.field(default_factory=list)  # [label, value] rows


@dataclasses.dataclass
class PresetRow:
    id: str = ""
    name: str = ""
    kind: str = "video"
    container: str = ""
    video_codec: str = ""
    summary: str = ""
    description: str = ""
    keyframe_copy: bool = False
    builtin: bool = True


@dataclasses.dataclass
class TemplateRow:
    id: str = ""
    name: str = ""
    summary: str = ""  # its outputs, one line
    builtin: bool = True


def template_row(d: dict) -> TemplateRow:
    outputs = d.get("outputs") or []
    return TemplateRow(id=str(d["id"]), name=d.get("name") or "", builtin=bool(d.get("builtin")),
                       summary=d.get("description") or " · ".join(o.get("summary") or "" for o in outputs))


@dataclasses.dataclass
class JobRow:
    id: str = ""
    status: str = QUEUED
    progress: float = 0.0
    progress_text: str = ""
    detail: str = ""  # speed · ETA while running, times when done
    source_name: str = ""
    preset_name: str = ""
    output_name: str = ""
    trim_text: str = ""
    error: str = ""
    attempt_text: str = ""
    output_url: str = ""
    output_asset_id: str = ""
    playback_url: str = ""  # a template job's streaming package (master playlist, signed link)
    storyboard_url: str = ""
    can_cancel: bool = False
    can_retry: bool = False


def _resolution(w, h) -> str:
    return f"{w}×{h}" if w and h else ""


def _container(format_name: str, filename: str) -> str:
    """ffprobe's format list ("mov,mp4,m4a,…") narrowed to the file's own extension when it is one of them."""
    names = [n for n in format_name.split(",") if n]
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext and ext in names:
        return ext
    return names[0] if names else "–"


def human_size(n: float | None) -> str:
    if not n:
        return "–"
    units = ["B", "KB", "MB", "GB", "TB"]
    size, i = float(n), 0
    while size >= 1000 and i < len(units) - 1:
        size, i = size / 1000, i + 1
    return f"{size:.0f} {units[i]}" if i == 0 else f"{size:.1f} {units[i]}"


def asset_row(d: dict) -> AssetRow:
    codecs = " / ".join(c for c in (d.get("videoCodec"), d.get("audioCodec")) if c)
    return AssetRow(
        id=str(d["id"]),
        name=d.get("filename") or "",
        area=d.get("storageArea") or "in",
        status=(d.get("status") or PENDING).lower(),
        error=d.get("errorMessage") or "",
        duration_text=format_duration(d.get("duration")) if d.get("duration") else "",
        resolution=_resolution(d.get("width"), d.get("height")),
        codecs=codecs,
        poster_url=d.get("posterUrl") or "",
    )


def _times(values) -> list[float]:
    return [float(t) for t in values or [] if isinstance(t, (int, float))]


def _spans(values) -> list[list[float]]:
    return [[float(r["start"]), float(r["end"])] for r in values or [] if isinstance(r, dict)]


def asset_detail(d: dict) -> AssetDetail:
    fps = float(d.get("frameRate") or 0.0)
    audio = ""
    if d.get("audioCodec"):
        audio = d["audioCodec"]
        if d.get("audioChannels"):
            audio += f", {d['audioChannels']} ch"
        if d.get("audioSampleRate"):
            audio += f", {d['audioSampleRate'] / 1000:g} kHz"
    video = " ".join(x for x in (d.get("videoCodec"), d.get("pixFmt")) if x)
    if video:
        video = " · ".join(x for x in (video, _resolution(d.get("width"), d.get("height")),
                                       f"{fps:.3f}".rstrip("0").rstrip(".") + " fps" if fps else "") if x)
    if d.get("rotation"):
        video += f" · rotated {d['rotation']}°"
    duration = format_tc(d.get("duration")) if d.get("duration") else "–"
    if d.get("duration") and fps:
        duration += f" · {round(d['duration'] * fps)} frames"
    facts = [
        ["Duration", duration],
        ["Video", video or "none"],
        ["Audio", audio or "none"],
        ["File", " · ".join(x for x in (_container(d.get("container") or "", d.get("filename") or ""),
                                        human_size(d.get("size")),
                                        f"{(d.get('bitrate') or 0) / 1000:.0f} kbit/s" if d.get("bitrate") else "")
                            if x)],
        ["Stored as", f"{d.get('storageArea', 'in')}/{d.get('storageKey', '')}"],
    ]
    loud = d.get("loudness")
    if loud:
        facts.insert(3, ["Loudness", f"{loud['integrated']:.1f} LUFS · range {loud['range']:.1f} LU · "
                                     f"true peak {loud['truePeak']:.1f} dBTP"])
    return AssetDetail(
        id=str(d["id"]),
        name=d.get("filename") or "",
        area=d.get("storageArea") or "in",
        key=d.get("storageKey") or "",
        status=(d.get("status") or "").lower(),
        error=d.get("errorMessage") or "",
        duration=float(d.get("duration") or 0.0),
        fps=fps,
        width=int(d.get("width") or 0),
        height=int(d.get("height") or 0),
        media_url=d.get("mediaUrl") or "",
        poster_url=d.get("posterUrl") or "",
        filmstrip_url=d.get("filmstripUrl") or "",
        filmstrip_frames=int(d.get("filmstripFrames") or 0),
        waveform_url=d.get("waveformUrl") or "",
        scene_cuts=_times(d.get("sceneCuts")),
        keyframes=_times(d.get("keyframes")),
        black_ranges=_spans(d.get("blackRanges")),
        silence_ranges=_spans(d.get("silenceRanges")),
        tags=[str(t) for t in d.get("tags") or []],
        comments=d.get("comments") or "",
        facts=facts,
    )


def preset_row(d: dict) -> PresetRow:
    return PresetRow(
        id=str(d["id"]),
        name=d.get("name") or "",
        kind=d.get("kind") or "video",
        container=d.get("container") or "",
        video_codec=d.get("videoCodec") or "",
        summary=d.get("summary") or "",
        description=d.get("description") or "",
        keyframe_copy=(d.get("kind") == "copy"),
        builtin=bool(d.get("builtin")),
    )


def _eta(seconds) -> str:
    if seconds is None:
        return ""
    seconds = max(int(round(seconds)), 0)
    m, s = divmod(seconds, 60)
    return f"ETA {m}:{s:02d}" if m < 60 else f"ETA {m // 60}h{m % 60:02d}"


def _parse_time(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def job_row(d: dict) -> JobRow:
    status = (d.get("status") or QUEUED).lower()
    progress = float(d.get("progress") or 0.0)
    if status == SUCCEEDED:
        progress = 100.0
    detail = ""
    if status == RUNNING:
        bits = []
        if d.get("speed"):
            bits.append(f"{d['speed']:.2f}×" if d["speed"] < 1 else f"{d['speed']:.1f}×")
        if d.get("fps"):
            bits.append(f"{d['fps']:.0f} fps")
        if d.get("etaSeconds") is not None:
            bits.append(_eta(d["etaSeconds"]))
        detail = " · ".join(bits) or "starting…"
    elif status == QUEUED:
        detail = "waiting for a worker"
    else:
        started, finished = _parse_time(d.get("startedAt")), _parse_time(d.get("finishedAt"))
        if started and finished:
            detail = f"took {max((finished - started).total_seconds(), 0):.1f} s"
    trim = ""
    if d.get("trimStart") is not None or d.get("trimEnd") is not None:
        trim = f"{format_tc(d.get('trimStart') or 0)} → {format_tc(d.get('trimEnd'))}" if d.get(
            "trimEnd") is not None else f"from {format_tc(d.get('trimStart') or 0)}"
    preset = ((d.get("templateSnapshot") or {}).get("name") or (d.get("preset") or {}).get("name")
              or (d.get("presetSnapshot") or {}).get("name") or "—")
    attempt, max_attempts = d.get("attempt") or 1, d.get("maxAttempts") or 1
    return JobRow(
        id=str(d["id"]),
        status=status,
        progress=round(progress, 1),
        progress_text=f"{progress:.0f}%",
        detail=detail,
        source_name=(d.get("source") or {}).get("filename") or "(deleted source)",
        preset_name=preset,
        output_name=d.get("outputFilename") or "",
        trim_text=trim,
        error=d.get("error") or "",
        attempt_text=f"attempt {attempt}/{max_attempts}" if attempt > 1 else "",
        output_url=d.get("outputUrl") or "",
        playback_url=d.get("playbackUrl") or "",
        storyboard_url=d.get("storyboardUrl") or "",
        output_asset_id=str((d.get("outputAsset") or {}).get("id") or ""),
        can_cancel=status in ACTIVE,
        can_retry=status in RETRYABLE,
    )


@dataclasses.dataclass
class WebhookRow:
    id: str = ""
    url: str = ""
    events_text: str = ""  # the event types it wants, or "all events"
    description: str = ""
    active: bool = True


@dataclasses.dataclass
class DeliveryRow:
    id: str = ""
    event_type: str = ""
    event_id: str = ""
    status: str = "pending"  # pending | delivered | failed
    summary: str = ""  # attempts · HTTP code · latency
    when_text: str = ""  # created, and for a pending one when it is tried next
    error: str = ""


def webhook_row(d: dict) -> WebhookRow:
    types = d.get("eventTypes") or []
    return WebhookRow(id=str(d["id"]), url=d.get("url") or "", events_text=", ".join(types) or "all events",
                      description=d.get("description") or "", active=bool(d.get("active")))


def _clock(value) -> str:
    when = _parse_time(value)
    return when.strftime("%Y-%m-%d %H:%M:%S") if when else ""


def delivery_row(d: dict) -> DeliveryRow:
    attempts = int(d.get("attempts") or 0)
    bits = [f"{attempts} attempt{'s' if attempts != 1 else ''}"]
    if d.get("responseCode") is not None:
        bits.append(f"HTTP {d['responseCode']}")
    if d.get("latencyMs") is not None:
        bits.append(f"{d['latencyMs']} ms")
    if d.get("redeliveryOf"):
        bits.append(f"replay of #{d['redeliveryOf']}")
    status = (d.get("status") or "pending").lower()
    when = _clock(d.get("createdAt"))
    if status == "pending" and d.get("nextAttemptAt"):
        when += f" · next try {_clock(d['nextAttemptAt'])}"
    return DeliveryRow(id=str(d["id"]), event_type=d.get("eventType") or "", event_id=d.get("eventId") or "",
                       status=status, summary=" · ".join(bits), when_text=when, error=d.get("error") or "")
