"""Job commands a person issues: create (validated before anything runs), cancel, retry.

Refusals are `DomainError`s whose message says what to change.
"""
from __future__ import annotations

import math

from backend.catalog.ingest import media_info_from_asset
from backend.catalog.presets import preset_spec_from_row
from backend.catalog.statuses import ACTIVE, READY, SUCCEEDED
from backend.catalog.tables import JobTransition, MediaAsset, OutputTemplate, TranscodeJob, TranscodePreset
from backend.catalog.templates import template_spec_from_row
from backend.config import Settings
from backend.jobs import lifecycle
from backend.jobs.errors import DomainError, not_found
from backend.jobs.naming import candidates, default_stem, sanitize_stem
from backend.media.presets import PresetError, PresetSpec, is_keyframe_copy, output_extension, validate_preset
from backend.media.smartcut import SMART_CODECS, SMART_CONTAINERS, TRIM_MODES
from backend.media.templates import TemplateError, TemplateSpec, entry_file, validate_template
from backend.storage import Storages

END_TOLERANCE = 0.05  # seconds past the probed end still accepted (then clamped)


def timecode(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds >= 1e7:  # absurd input: say it as it came
        return f"{seconds:.4g} s"
    ms = int(round(max(seconds, 0.0) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def validate_trim(start: float | None, end: float | None, duration: float, fps: float | None) -> tuple[float, float]:
    """Return (start, end) clamped to the clip, or refuse with a message that says what to change."""
    frame = 1.0 / fps if fps else 0.0
    tolerance = max(END_TOLERANCE, frame)
    start = 0.0 if start is None else float(start)
    end = duration if end is None else float(end)
    if not (math.isfinite(start) and math.isfinite(end)):  # NaN, ±inf
        raise DomainError("INVALID_TRIM", "in and out points must be numbers of seconds")
    if start < 0:
        raise DomainError("INVALID_TRIM", f"in point {start:.3f} s is before the start; use 0 or later")
    if start >= duration:
        raise DomainError(
            "INVALID_TRIM",
            f"in point {timecode(start)} is at or past the end of the clip ({timecode(duration)}); "
            "choose an in point before the end",
        )
    if end > duration + tolerance:
        raise DomainError(
            "INVALID_TRIM",
            f"out point {timecode(end)} is past the end of the clip ({timecode(duration)}); "
            f"choose an out point at or before {timecode(duration)}",
        )
    end = min(end, duration)
    if end <= start:
        raise DomainError(
            "INVALID_TRIM",
            f"out point {timecode(end)} must come after the in point {timecode(start)}",
        )
    if frame and end - start < frame - 1e-6:
        raise DomainError("INVALID_TRIM", "the selection is shorter than one frame; widen it")
    return start, end


def check_trim_mode(mode: str | None, spec, info, accurate_trim: bool | None = None) -> str:
    """The trim mode a job with preset `spec` on a source described by `info` runs with, or a
    DomainError saying why the combination is impossible (before any job starts)."""
    copy = is_keyframe_copy(spec)
    if mode is None:
        return "keyframe" if copy else "accurate"
    mode = mode.lower()
    if mode not in TRIM_MODES:
        raise DomainError("INVALID_TRIM", f"trim mode must be one of {', '.join(TRIM_MODES)}, not {mode!r}")
    if mode == "accurate" and copy:
        raise DomainError("INVALID_TRIM", f"{spec.name!r} copies streams and cannot cut frame-accurately by itself; "
                                          "choose the smart trim mode or a re-encoding preset")
    if mode == "keyframe" and not copy:
        raise DomainError("INVALID_TRIM", f"{spec.name!r} re-encodes, so its cut is always frame accurate; "
                                          "choose a stream-copy preset for a keyframe cut")
    if mode == "keyframe" and accurate_trim:
        raise DomainError("INVALID_TRIM", "a keyframe cut is not frame accurate; drop accurateTrim or choose SMART")
    if mode == "smart":
        if not copy:
            raise DomainError("INVALID_TRIM", f"smart cut keeps the source's video and needs a stream-copy preset; "
                                              f"{spec.name!r} re-encodes (its cuts are already frame accurate)")
        codec = info.video.codec if info.video else ""
        if codec not in SMART_CODECS:
            raise DomainError("INVALID_TRIM", f"smart cut supports H.264 and HEVC video; this source is "
                                              f"{codec or 'without video'}: use the keyframe mode or a re-encoding preset")
        if spec.container not in SMART_CONTAINERS:
            raise DomainError("INVALID_TRIM", f"smart cut writes {', '.join(SMART_CONTAINERS)}; "
                                              f"{spec.name!r} writes {spec.container}")
    return mode


async def free_output(storages: Storages, stem: str, spec: PresetSpec, template: TemplateSpec | None
                      ) -> tuple[str, str]:
    """(output_key, output_filename) of a new job: a free `<stem>.<ext>` for one output, or for an
    output template a free folder, its key the entry file (`<stem>/master.m3u8`) and its name `<stem>/`."""
    if template is None:
        key = await _free_output_key(storages, stem, output_extension(spec))
        return key, key
    key = await _free_output_key(storages, stem, "/" + entry_file(template))
    return key, key.split("/")[0] + "/"


async def _free_output_key(storages: Storages, stem: str, extension: str) -> str:
    taken_rows = await TranscodeJob.select(TranscodeJob.output_key).where(
        TranscodeJob.status.is_in([*ACTIVE, SUCCEEDED])
    )
    taken = {r["output_key"] for r in taken_rows}
    for key in candidates(stem, extension):
        if key in taken:
            continue
        if await storages.output.stat(key) is None:
            return key
    raise AssertionError("unreachable")


async def _template(template_id: int) -> tuple[dict, TemplateSpec]:
    row = await OutputTemplate.select().where(OutputTemplate.id == template_id).first()
    if row is None:
        raise not_found("template", template_id)
    try:
        return row, validate_template(template_spec_from_row(row))
    except TemplateError as exc:
        raise DomainError("INVALID_TEMPLATE", f"template {row['name']!r} is invalid: {exc}") from exc


async def valid_preset(preset_id: int | None) -> PresetSpec:
    """Preset `preset_id` as a checked PresetSpec; NOT_FOUND when there is none, INVALID_PRESET when
    its settings do not validate (an admin edit in /admin is not trusted)."""
    preset = await TranscodePreset.select().where(TranscodePreset.id == preset_id).first()
    if preset is None:
        raise not_found("preset", preset_id)
    try:
        return validate_preset(preset_spec_from_row(preset))
    except PresetError as exc:
        raise DomainError("INVALID_PRESET", f"preset {preset['name']!r} is invalid: {exc}") from exc


async def create_job(
    settings: Settings,
    storages: Storages,
    *,
    source_id: int,
    preset_id: int | None = None,
    template_id: int | None = None,
    trim_start: float | None = None,
    trim_end: float | None = None,
    accurate_trim: bool | None = None,
    output_name: str | None = None,
    priority: int = 0,
    chunked: bool | None = None,
    trim_mode: str | None = None,
    output_stem: str | None = None,
    reason: str = "created",
) -> dict:
    """Validate and queue a job: one preset (one output) or one output template (several outputs
    under one folder). `chunked`: True/False forces/forbids parallel chunks, None lets MPR decide.
    `trim_mode`: keyframe | smart | accurate (None: keyframe for copy presets, accurate otherwise).
    `output_stem`: an output name already made safe by the caller (an automation rule's pattern,
    backend.jobs.rules), used as is instead of `output_name`; `reason`: the first history row's."""
    if (preset_id is None) == (template_id is None):
        raise DomainError("INVALID_INPUT", "give either presetId (one output) or templateId (several outputs)")
    source = await MediaAsset.select().where(MediaAsset.id == source_id).first()
    if source is None:
        raise not_found("asset", source_id)
    if source["status"] != READY:
        why = f": {source['error_message']}" if source["error_message"] else ""
        raise DomainError(
            "ASSET_NOT_READY", f"asset {source['filename']!r} is {source['status']}{why}; choose a ready asset"
        )
    _, template = (None, None) if template_id is None else await _template(template_id)
    if template is not None:
        spec = template.primary_preset
    else:
        spec = await valid_preset(preset_id)

    info = media_info_from_asset(source)
    if spec.kind in ("video", "image") and info.video is None:
        raise DomainError("INVALID_PRESET", f"{source['filename']!r} has no video stream; choose an audio preset")
    if spec.kind == "audio" and info.audio is None:
        raise DomainError("INVALID_PRESET", f"{source['filename']!r} has no audio stream; choose a video preset")
    if not source["duration"]:
        raise DomainError("ASSET_NOT_READY", f"{source['filename']!r} has no known duration")
    start, end = validate_trim(trim_start, trim_end, source["duration"], source["frame_rate"])

    if template is not None and template.storyboard_interval is not None and info.video is None:
        raise DomainError("INVALID_TEMPLATE", f"{source['filename']!r} has no video stream for a storyboard; "
                                              "choose an audio-only template")
    keyframe_copy = is_keyframe_copy(spec)
    mode = check_trim_mode(trim_mode, spec, info, accurate_trim)
    if template is not None and mode == "smart":
        raise DomainError("INVALID_TRIM", "an output template re-encodes every rendition; the smart trim mode "
                                          "is for stream-copy presets")
    if accurate_trim and keyframe_copy and mode != "smart":
        raise DomainError(
            "INVALID_TRIM",
            f"{spec.name!r} copies streams and can only cut at keyframes; "
            "choose a re-encoding preset for a frame-accurate cut, or the smart trim mode",
        )
    if mode == "smart" and chunked:
        raise DomainError("INVALID_TRIM", "a smart cut copies most of the range and runs in one pass; "
                                          "leave chunked unset")
    stem = sanitize_stem(output_name) if output_name else ""
    if output_name and not stem:
        raise DomainError("INVALID_INPUT", f"output name {output_name!r} has no usable characters; type a plain name")
    stem = output_stem or stem or default_stem(source["filename"], template.name if template is not None else spec.name)
    output_key, output_filename = await free_output(storages, stem, spec, template)

    job = TranscodeJob(
        source=source_id,
        preset=preset_id,
        preset_snapshot=spec.to_dict(),
        trim_start=start,
        trim_end=end,
        accurate_trim=mode != "keyframe",
        output_filename=output_filename,
        output_key=output_key,
        template_id=template_id,
        template_snapshot=template.to_dict() if template is not None else {},
        priority=int(priority),
        executor=settings.executor,
        max_attempts=settings.max_attempts,
        plan={"trim": mode,
              **({} if chunked is None or template is not None else {"chunked_requested": bool(chunked)}),
              **({"mode": "ladder", "template": template.name} if template is not None else {})},
    )
    return await lifecycle.create(job, reason)


async def cancel_job(job_id: int, reason: str = "cancelled by user") -> dict:
    """Queued → cancelled at once; running → cancelled, and its executor stops FFmpeg and removes the partial."""
    await lifecycle.require_transition(job_id, lifecycle.CANCELLED, reason, expect_from=(lifecycle.QUEUED, lifecycle.RUNNING))
    return await lifecycle.load_job(job_id)


async def retry_job(job_id: int) -> dict:
    """Failed or cancelled → queued as a new attempt, from scratch.

    A retry by hand is not one of the automatic attempts (`max_attempts` bounds how often recovery
    re-queues a stalled or orphaned attempt): the budget grows by the attempt this retry spends,
    so the new attempt has as many automatic re-queues left as the one before it had."""
    row = await TranscodeJob.select(TranscodeJob.attempt, TranscodeJob.max_attempts).where(
        TranscodeJob.id == job_id
    ).first()
    if row is None:
        raise not_found("job", job_id)
    await lifecycle.require_transition(
        job_id, lifecycle.QUEUED, "retried by user",
        expect_from=(lifecycle.FAILED, lifecycle.CANCELLED),
        max_attempts=max(row["max_attempts"], row["attempt"]) + 1,
    )
    return await lifecycle.load_job(job_id)


async def delete_jobs(job_ids: list[int] | None = None, statuses: list[str] | None = None) -> list[int]:
    """Forget finished jobs (succeeded, failed or cancelled) and their history; return the ids deleted.

    `job_ids` names them (deleteJob), or every finished job with one of `statuses` goes (the bulk
    delete; default: all finished). A queued or running job is never deleted (cancel it first):
    the condition is part of the DELETE, so a job retried meanwhile stays. Outputs are not touched:
    a succeeded job's output is an asset of the library and is deleted there.
    """
    wanted = set(statuses) if statuses else set(lifecycle.TERMINAL)
    if not wanted <= lifecycle.TERMINAL:
        raise DomainError("INVALID_INPUT", "only finished jobs (succeeded, failed, cancelled) can be deleted; "
                                           "cancel a queued or running job first")
    condition = TranscodeJob.status.is_in(sorted(wanted))
    if job_ids is not None:
        if not job_ids:
            return []
        condition &= TranscodeJob.id.is_in(job_ids)
    async with TranscodeJob._meta.db.transaction():
        rows = await TranscodeJob.delete().where(condition).returning(TranscodeJob.id)
        ids = sorted(r["id"] for r in rows)
        if ids:  # SQLite without foreign-key enforcement does not cascade
            await JobTransition.delete().where(JobTransition.job.is_in(ids))
    return ids


async def delete_job(job_id: int) -> int:
    """deleteJob: one finished job and its history (refused with the reason otherwise)."""
    row = await TranscodeJob.select(TranscodeJob.status).where(TranscodeJob.id == job_id).first()
    if row is None:
        raise not_found("job", job_id)
    if row["status"] not in lifecycle.TERMINAL or not await delete_jobs([job_id]):
        raise DomainError("JOB_ACTIVE", f"job {job_id} is queued or running: cancel it (or let it finish) "
                                        "before deleting it")
    return job_id
