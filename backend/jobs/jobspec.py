"""The one conversion from a job row to a `backend.pipeline.JobSpec`, and keeping it on record.

Executors call `build_spec` once per attempt with where the source and output live for the
runner that will read them (a storage area here, S3 buckets for the Lambda) and the chunk plan
when the attempt is chunked; `store_spec` writes it to `TranscodeJob.spec` (with what `plan`
records about the attempt), so the row shows exactly what ran.
"""
from __future__ import annotations

import json
import posixpath
from dataclasses import replace

from backend.catalog.tables import TranscodeJob
from backend.media.chunking import ChunkPlan
from backend.media.presets import PresetSpec
from backend.media.probe import MediaInfo
from backend.media.sequence import SequenceError, canvas_for
from backend.pipeline import JobSpec, Location, SpecError
from backend.pipeline.spec import SequenceClip, SequenceSpec

REFUSED = "the job's recorded settings are not valid, so nothing ran"


def _json(value) -> dict:
    if isinstance(value, str):
        value = json.loads(value or "null")
    return dict(value or {})


def sequence_spec(row: dict, locate=None) -> SequenceSpec | None:
    """A sequence render's `SequenceSpec` from the job's `sequence_snapshot` (None for other jobs).
    `locate(clip) -> Location` says where a clip's source is for the runner (default: its storage
    area and key on this machine)."""
    snap = _json(row.get("sequence_snapshot"))
    if not snap.get("clips"):
        return None
    locate = locate or (lambda c: Location(area=c["area"], key=c["key"]))
    clips = tuple(SequenceClip(input=locate(c), start=float(c["start"]), end=float(c["end"]), source=dict(c["info"]),
                               source_id=int(c["sourceId"]), name=str(c.get("name") or "")) for c in snap["clips"])
    preset = PresetSpec.from_dict(_json(row["preset_snapshot"]))
    canvas = canvas_for(preset, [MediaInfo.from_dict(c.source) for c in clips])
    return SequenceSpec(clips=clips, canvas=canvas.to_dict())


def build_spec(row: dict, source: Location, output: Location, plan: ChunkPlan | None = None,
               locate=None) -> JobSpec:
    """The JobSpec of the attempt `row` describes (preset snapshot, trim, accurate flag; a template
    job's template snapshot as its `ladder`, its output then the job's folder, "<stem>/"; a
    sequence render's snapshot as its `sequence`, `source` then its first clip's; `locate(clip)`
    says where each clip's source is for the runner, as in `sequence_spec`).

    The row is not trusted: an admin can edit `preset_snapshot` (or the template or sequence
    snapshot, the trim) in piccolo-admin after the job was created. So the spec is re-checked exactly
    as the Lambda checks its input (`JobSpec.from_dict`: `validate_preset`, `validate_template`, trim
    bounds, the sequence's clips); anything invalid raises SpecError with REFUSED and the reason,
    before any FFmpeg runs.
    """
    try:
        sequence = sequence_spec(row, locate)
    except (KeyError, TypeError, ValueError, SequenceError) as exc:
        raise SpecError(f"{REFUSED}: the sequence snapshot is not valid: {exc}") from exc
    if sequence is not None:
        spec = JobSpec(source=sequence.clips[0].input, output=output, preset=_json(row["preset_snapshot"]),
                       trim_mode="accurate", sequence=sequence)
        try:
            return JobSpec.from_dict(spec.to_dict())
        except SpecError as exc:
            raise SpecError(f"{REFUSED}: {exc}") from exc
    ladder = _json(row.get("template_snapshot")) or None
    if ladder:
        output = replace(output, key=posixpath.dirname(output.key) + "/")
    spec = JobSpec(
        source=source, output=output, preset=_json(row["preset_snapshot"]),
        trim_start=float(row["trim_start"] or 0.0),
        trim_end=None if row["trim_end"] is None else float(row["trim_end"]),
        accurate=bool(row["accurate_trim"]),
        plan=None if plan is None else plan.to_dict(),
        trim_mode=trim_mode(row),
        ladder=ladder,
    )
    try:
        return JobSpec.from_dict(spec.to_dict())
    except SpecError as exc:
        raise SpecError(f"{REFUSED}: {exc}") from exc


def trim_mode(row: dict) -> str:
    """The job's trim mode (keyframe | smart | accurate), kept in `plan["trim"]` since issue 16;
    older rows: from the accurate flag."""
    plan = row.get("plan") or {}
    if isinstance(plan, str):
        plan = json.loads(plan or "{}")
    mode = (plan or {}).get("trim")
    if mode in ("keyframe", "smart", "accurate"):
        return mode
    return "accurate" if row.get("accurate_trim") else "keyframe"


async def store_spec(job_id: int, attempt: int, spec: JobSpec, record: dict | None = None) -> None:
    """Keep the attempt's spec (and, when given, its `plan` record) on the job row."""
    values = {TranscodeJob.spec: spec.to_dict()}
    if record is not None:
        values[TranscodeJob.plan] = record
    await TranscodeJob.update(values).where((TranscodeJob.id == job_id) & (TranscodeJob.attempt == attempt))
