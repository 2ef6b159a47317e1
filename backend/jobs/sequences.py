"""Sequences: named lists of clips ({sourceId, start, end} in play order) and their rendering.

The rules live here, once: every clip is checked against its asset before it is saved and again
before a render is queued (`check_clips`: the asset exists, is ready, has video, and the range
lies inside it and is at least one frame long), so an impossible sequence never starts a job.
`render_sequence` queues ONE job whose `sequence_snapshot` keeps the sequence as it was (like
`preset_snapshot`); `backend.jobs.jobspec.build_spec` turns that into the JobSpec's `sequence`
and `backend.pipeline.sequence.run_sequence` runs it here; on the AWS executor the same steps run
as one Lambda per clip on sfn/transcode-sequence.asl.json (docs/sequences.md#on-aws). With an
output template instead of a preset the job also keeps the template's snapshot and makes its
outputs from the rendered sequence (this machine's executor only).
"""
from __future__ import annotations

import json
import math

from backend.catalog.assetinfo import media_info_from_asset
from backend.catalog.statuses import READY
from backend.catalog.tables import MediaAsset, Sequence, TranscodeJob
from backend.config import Settings
from backend.jobs import lifecycle
from backend.jobs.errors import DomainError, not_found
from backend.jobs.naming import default_stem, sanitize_stem
from backend.jobs.service import _template, free_output, timecode, valid_preset, validate_trim
from backend.media.mezzanine import mezzanine_preset
from backend.media.sequence import SequenceError, canvas_for
from backend.storage import Storages

MAX_CLIPS = 500
MAX_NAME = 200


def _invalid(message: str) -> DomainError:
    return DomainError("INVALID_SEQUENCE", message)


def clips_of(row: dict) -> list[dict]:
    value = row.get("clips")
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return list(value or [])


def check_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise _invalid("a sequence needs a name")
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise _invalid(f"a sequence name is at most {MAX_NAME} printable characters")
    return name


async def check_clips(clips: list[dict]) -> tuple[list[dict], dict[int, dict]]:
    """The clips as stored ({sourceId, start, end}, start/end clamped to the source like createJob's
    trim) and the asset rows they use; DomainError INVALID_SEQUENCE naming the first bad clip."""
    if len(clips) > MAX_CLIPS:
        raise _invalid(f"a sequence holds at most {MAX_CLIPS} clips; this one has {len(clips)}")
    ids = set()
    for index, clip in enumerate(clips):
        try:
            ids.add(int(clip["sourceId"]))
        except (KeyError, TypeError, ValueError):
            raise _invalid(f"clip {index + 1}: sourceId must be an asset id") from None
    rows = {r["id"]: r for r in await MediaAsset.select().where(MediaAsset.id.is_in(sorted(ids)))} if ids else {}
    checked = []
    for index, clip in enumerate(clips):
        where = f"clip {index + 1}"
        source_id = int(clip["sourceId"])
        row = rows.get(source_id)
        if row is None:
            raise DomainError("INVALID_SEQUENCE", f"{where}: asset {source_id} does not exist")
        if row["status"] != READY or not row["duration"]:
            raise _invalid(f"{where}: asset {row['filename']!r} is {row['status']}; choose a ready asset")
        if not row["video_codec"]:
            raise _invalid(f"{where}: {row['filename']!r} has no video; a sequence joins video clips")
        start, end = clip.get("start"), clip.get("end")
        if start is None or end is None:
            raise _invalid(f"{where}: give both start and end (seconds)")
        try:
            start, end = float(start), float(end)
        except (TypeError, ValueError):
            raise _invalid(f"{where}: start and end must be numbers of seconds") from None
        if math.isfinite(start) and math.isfinite(end) and end <= start:
            raise _invalid(f"{where}: end {timecode(end)} must come after start {timecode(start)}")
        try:
            start, end = validate_trim(start, end, row["duration"], row["frame_rate"])
        except DomainError as exc:
            raise _invalid(f"{where} ({row['filename']}): {exc.message}") from None
        checked.append({"sourceId": source_id, "start": round(start, 6), "end": round(end, 6)})
    return checked, rows


async def load(sequence_id: int) -> dict:
    row = await Sequence.select().where(Sequence.id == sequence_id).first()
    if row is None:
        raise not_found("sequence", sequence_id)
    return row


async def create_sequence(name: str, clips: list[dict] | None = None, created_by: int | None = None) -> dict:
    checked, _ = await check_clips(list(clips or []))
    row = Sequence(name=check_name(name), clips=checked, created_by=created_by)
    await row.save()
    return await load(row.id)


async def update_sequence(sequence_id: int, *, name: str | None = None, clips: list[dict] | None = None) -> dict:
    """Rename and/or replace the clips (the whole list, in play order)."""
    await load(sequence_id)
    values = {}
    if name is not None:
        values[Sequence.name] = check_name(name)
    if clips is not None:
        values[Sequence.clips], _ = await check_clips(clips)
    if values:
        await Sequence.update(values).where(Sequence.id == sequence_id)
    return await load(sequence_id)


async def duplicate_sequence(sequence_id: int, name: str | None = None, created_by: int | None = None) -> dict:
    row = await load(sequence_id)
    copy = Sequence(name=check_name(name or f"{row['name']} copy"[:MAX_NAME]), clips=clips_of(row),
                    created_by=created_by)
    await copy.save()
    return await load(copy.id)


async def delete_sequence(sequence_id: int) -> dict:
    """Delete a sequence; jobs that rendered it keep their snapshot."""
    row = await load(sequence_id)
    await Sequence.delete().where(Sequence.id == sequence_id)
    return row


def snapshot(row: dict, clips: list[dict], assets: dict[int, dict]) -> dict:
    """The sequence as a render keeps it: every clip with its source's file, location and media info."""
    return {
        "id": row["id"], "name": row["name"],
        "clips": [{**c, "name": assets[c["sourceId"]]["filename"], "area": assets[c["sourceId"]]["storage_area"],
                   "key": assets[c["sourceId"]]["storage_key"],
                   "info": media_info_from_asset(assets[c["sourceId"]]).to_dict()} for c in clips],
    }


async def render_sequence(settings: Settings, storages: Storages, sequence_id: int, preset_id: int | None = None,
                          output_name: str | None = None, created_by: int | None = None,
                          priority: int = 0, *, template_id: int | None = None) -> dict:
    """Check the sequence and the preset (one output) or the output template (several outputs), then
    queue one job that renders the sequence. With a template the job renders the sequence into an
    intermediate (`media.mezzanine`) and makes the template's outputs from it, on this machine's
    executor only (docs/sequences.md#with-an-output-template)."""
    if (preset_id is None) == (template_id is None):
        raise DomainError("INVALID_INPUT", "give either presetId (one output) or templateId (the template's "
                                           "outputs), not both and not neither")
    row = await load(sequence_id)
    if template_id is not None and settings.executor == "aws":
        raise DomainError("INVALID_INPUT", "a sequence rendered with an output template runs on this machine's "
                                           "executor only (MPR_EXECUTOR=local), not yet on AWS; render it with a "
                                           "preset, or make a template job from the rendered file "
                                           "(docs/sequences.md#with-an-output-template)")
    if settings.executor == "aws" and not settings.sequence_state_machine_arn:
        raise DomainError("INVALID_INPUT", "sequence renders on AWS run on their own state machine, and "
                                           "MPR_SEQUENCE_STATE_MACHINE_ARN is not set; run `mpr aws deploy` "
                                           "(docs/sequences.md)")
    clips, assets = await check_clips(clips_of(row))
    if not clips:
        raise _invalid(f"sequence {row['name']!r} has no clips; append at least one")
    infos = [media_info_from_asset(assets[c["sourceId"]]) for c in clips]
    template = None
    if template_id is not None:
        _, template = await _template(template_id)
        spec = mezzanine_preset(template)
        audio_only = template.renditions and all(p.kind == "audio" for p in template.renditions)
        if audio_only and not any(i.audio is not None for i in infos):
            raise DomainError("INVALID_TEMPLATE", f"template {template.name!r} makes audio-only renditions and no "
                                                  f"clip of {row['name']!r} has audio; choose a video template")
    else:
        spec = await valid_preset(preset_id)
    try:
        canvas = canvas_for(spec, infos)
    except SequenceError as exc:
        raise DomainError("INVALID_PRESET", f"{exc}; choose a video preset") from None
    stem = sanitize_stem(output_name) if output_name else ""
    if output_name and not stem:
        raise DomainError("INVALID_INPUT", f"output name {output_name!r} has no usable characters; type a plain name")
    stem = stem or default_stem(row["name"], template.name if template is not None else spec.name)
    output_key, output_filename = await free_output(storages, stem, spec, template)
    total = sum(round((c["end"] - c["start"]) * canvas.fps) / canvas.fps for c in clips)
    plan = {"trim": "accurate", "mode": "sequence", "clips": len(clips), "canvas": canvas.to_dict()}
    if template is not None:
        plan.update(mode="sequence+template", template=template.name)
    job = TranscodeJob(
        source=clips[0]["sourceId"], preset=preset_id,
        preset_snapshot=(template.primary_preset if template is not None else spec).to_dict(),
        trim_start=0.0, trim_end=round(total, 6), accurate_trim=True,
        output_filename=output_filename, output_key=output_key, priority=int(priority),
        template_id=template_id, template_snapshot=template.to_dict() if template is not None else {},
        executor=settings.executor, max_attempts=settings.max_attempts, created_by=created_by,
        plan=plan, sequence_id=row["id"], sequence_snapshot=snapshot(row, clips, assets),
    )
    what = f"with template {template.name!r}" if template is not None else f"with preset {spec.name!r}"
    return await lifecycle.create(job, reason=f"render of sequence {row['name']!r} ({len(clips)} clips) {what}")
