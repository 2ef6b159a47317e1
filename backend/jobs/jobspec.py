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
from backend.media.mezzanine import mezzanine_preset
from backend.media.presets import PresetSpec
from backend.media.probe import MediaInfo
from backend.media.sequence import SequenceError, canvas_for
from backend.media.templates import TemplateError, TemplateSpec
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
    canvas = canvas_for(sequence_preset(row), [MediaInfo.from_dict(c.source) for c in clips])
    return SequenceSpec(clips=clips, canvas=canvas.to_dict())


def sequence_preset(row: dict) -> PresetSpec:
    """The preset a sequence render encodes its clips with: the job's preset, or with an output
    template the mezzanine made for that template (`media.mezzanine`; the template's outputs are
    then made from the rendered sequence)."""
    template = _json(row.get("template_snapshot"))
    if template:
        return mezzanine_preset(TemplateSpec.from_dict(template))
    return PresetSpec.from_dict(_json(row["preset_snapshot"]))


def build_spec(row: dict, source: Location, output: Location, plan: ChunkPlan | None = None,
               locate=None) -> JobSpec:
    """The JobSpec of the attempt `row` describes (preset snapshot, trim, accurate flag; a template
    job's template snapshot as its `ladder`, its output then the job's folder, "<stem>/"; a
    sequence render's snapshot as its `sequence`, `source` then its first clip's; `locate(clip)`
    says where each clip's source is for the runner, as in `sequence_spec`; a sequence rendered
    with a template has both, and the mezzanine for that template as its preset).

    The row is not trusted: an admin can edit `preset_snapshot` (or the template or sequence
    snapshot, the trim) in piccolo-admin after the job was created. So the spec is re-checked exactly
    as the Lambda checks its input (`JobSpec.from_dict`: `validate_preset`, `validate_template`, trim
    bounds, the sequence's clips); anything invalid raises SpecError with REFUSED and the reason,
    before any FFmpeg runs.
    """
    try:
        sequence = sequence_spec(row, locate)
    except (KeyError, TypeError, ValueError, SequenceError, TemplateError) as exc:
        raise SpecError(f"{REFUSED}: the sequence snapshot is not valid: {exc}") from exc
    ladder = _json(row.get("template_snapshot")) or None
    if ladder:
        output = replace(output, key=posixpath.dirname(output.key) + "/")
    if sequence is not None:
        spec = JobSpec(source=sequence.clips[0].input, output=output, preset=sequence_preset(row).to_dict(),
                       trim_mode="accurate", sequence=sequence, ladder=ladder)
        try:
            return JobSpec.from_dict(spec.to_dict())
        except SpecError as exc:
            raise SpecError(f"{REFUSED}: {exc}") from exc
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
