"""How the AWS executor runs one job attempt: in one Lambda run (sfn/transcode.asl.json) or cut
into chunks that many Lambda runs encode in parallel (sfn/transcode-chunked.asl.json, docs/chunking.md).
A sequence render (`sequence_mode`) runs on sfn/transcode-sequence.asl.json: one Map item per clip,
a clip whose estimated encode exceeds half a Lambda run's budget cut into parts (docs/sequences.md).

`choose_mode` decides with `cost_model.should_chunk` against what one Lambda run may
spend (BUDGET_SECONDS of its 900 s), or as the job asked (`plan["chunked_requested"]`), plans the
chunks when chunked, and says what `TranscodeJob.plan` records: mode, reason, chunks, concurrency.
The chunk plan is built from a fresh probe of the source (the catalog keeps no frame count), on a
constant-frame-rate grid (`grid_index`: nothing but the header is read, even from S3), or — for
a variable-frame-rate source — on its scanned frame index (`read_frame_index`). Anything that
prevents chunking falls back to a single pass, with the reason recorded.
Blocking (ffprobe): call it in a thread.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from backend.config import Settings
from backend.jobs.executors.cost_model import (
    MEASURED_SPEEDS, chunk_seconds_for, estimate_seconds, frames_seconds, should_chunk,
)
from backend.media.chunking import ChunkingError, ChunkPlan, grid_index, plan_chunks, read_frame_index
from backend.media.command import CommandError, Trim, resolve_trim
from backend.media.presets import PresetSpec
from backend.media.probe import MediaInfo, ProbeError, probe
from backend.media.sequence import clip_frames
from backend.media.templates import TemplateSpec
from backend.pipeline import JobSpec
from backend.pipeline.ladder_plan import LadderPlan
from backend.pipeline.sequence_plan import SequencePlan

BUDGET_SECONDS = 600.0  # estimated single-pass encode time one Lambda run may take (of its 900 s)
MAX_WAYS = 50  # chunks worth running at once: beyond ~50 the join (download, copy, upload of the output) dominates
MAX_CONCURRENCY = 40  # an inline Map runs at most 40 iterations at once on AWS
MIN_CHUNK_SECONDS = 10.0  # shorter chunks cost more in start-up than they gain
MAX_CHUNK_SECONDS = 120.0
MAX_CLIP_PARTS = 8  # a part reads its clip from the in point: more parts of one clip decode more to drop
MAX_EXECUTION_INPUT = 200_000  # bytes; Step Functions refuses state data above 256 KiB (every Map item carries the spec)
# plan keys that describe one attempt's run: dropped before a new attempt decides again
RUN_KEYS = ("mode", "reason", "estimated_single_seconds", "state_machine", "chunks", "concurrency",
            "target_seconds", "aligned_to_keyframes", "frames", "audio", "chunk_frames", "wall_seconds",
            "frames_out", "renditions", "skipped", "segment_seconds", "packaging", "steps",
            "estimated_rendition_seconds", "clip_parts", "cuts", "stages", "estimated_clip_seconds")


@dataclass(frozen=True)
class Mode:
    record: dict  # what TranscodeJob.plan holds for this attempt
    plan: ChunkPlan | None  # None: single pass
    state_machine_arn: str | None
    ladder: LadderPlan | None = None  # an output template's fitted rungs and steps (the ladder machine)
    sequence: SequencePlan | None = None  # a sequence render's Map items (the sequence machine)

    @property
    def chunked(self) -> bool:
        return self.plan is not None


def chunk_layout(length: float, estimated_seconds: float | None, *, budget: float | None = None,
                 min_seconds: float | None = None) -> tuple[float, int]:
    """(target chunk seconds, ways): as many ways as chunks of at least `min_seconds` allow, up to
    MAX_WAYS; chunks short enough that each encodes in half the budget even when that makes more."""
    budget = BUDGET_SECONDS if budget is None else budget
    min_seconds = MIN_CHUNK_SECONDS if min_seconds is None else min_seconds
    ways = max(2, min(MAX_WAYS, math.ceil(length / min_seconds)))
    longest = MAX_CHUNK_SECONDS
    if estimated_seconds:
        longest = min(longest, length * (budget / 2) / estimated_seconds)
    target = chunk_seconds_for(length, ways, minimum=min_seconds, maximum=max(min_seconds, longest))
    return target, ways


def _single(record: dict, settings: Settings, reason: str | None = None) -> Mode:
    record.update(mode="single", state_machine="single")
    if reason:
        record["reason"] = reason
    for key in ("chunks", "concurrency", "target_seconds", "aligned_to_keyframes", "frames", "audio",
                "chunk_frames"):
        record.pop(key, None)
    return Mode(record, None, settings.state_machine_arn)


def choose_mode(settings: Settings, previous: dict | None, info: MediaInfo, spec: PresetSpec, trim: Trim,
                source: Callable[[], str]) -> Mode:
    """Single pass or chunked for this attempt. `info` is the catalog's view of the source (enough
    to decide); `source()` gives what FFmpeg can read it from (a path or presigned URL) to plan."""
    record = {k: v for k, v in (previous or {}).items() if k not in RUN_KEYS}
    decision = should_chunk(info, spec, budget_seconds=BUDGET_SECONDS, trim=trim,
                            requested=record.get("chunked_requested"))
    record.update(decision.record())
    if not decision.chunked:
        return _single(record, settings)
    if not settings.chunked_state_machine_arn:
        return _single(record, settings, f"{decision.reason}, but MPR_CHUNKED_STATE_MACHINE_ARN is not set "
                                         "(run `mpr aws deploy`); single pass")
    try:
        src = source()
        fresh = probe(src)
        try:
            index = grid_index(fresh)
        except ChunkingError:  # variable frame rate: read every frame's time (one pass over packets)
            index = read_frame_index(src)
        start, end = resolve_trim(trim, fresh)
        target, ways = chunk_layout(end - start, decision.estimated_seconds)
        plan = plan_chunks(fresh, spec, trim, index=index, target_seconds=target,
                           max_concurrency=min(MAX_CONCURRENCY, ways))
    except (ChunkingError, ProbeError, CommandError) as exc:
        return _single(record, settings, f"chunking not possible ({exc}); single pass")
    record.update(plan.summary())
    record["state_machine"] = "chunked"
    return Mode(record, plan, settings.chunked_state_machine_arn)


def ladder_mode(settings: Settings, previous: dict | None, template: TemplateSpec, spec: JobSpec,
                info: MediaInfo) -> Mode:
    """An output-template job on AWS (sfn/transcode-ladder.asl.json): the template fitted to the
    source once, here, from the catalog's view of it (as the local run fits it), one Map step per
    rendition, storyboard, file and poster. Raises VerificationError when the template does not
    fit the source. Each rendition is one Lambda run (single pass): `BUDGET_SECONDS` bounds it the
    same way as a single-pass job, and the reason says so."""
    record = {k: v for k, v in (previous or {}).items() if k not in RUN_KEYS}
    plan = LadderPlan.make(template, info, spec.trim)
    reason = (f"output template: {len(plan.steps)} step(s) in parallel Lambda runs (one per rendition, "
              f"each single pass), then one packaging run")
    estimates = {r.name: estimate_seconds(info, r.preset, spec.trim, MEASURED_SPEEDS) for r in plan.ladder.video}
    estimates = {name: est for name, est in estimates.items() if est is not None}
    if estimates:
        name, longest = max(estimates.items(), key=lambda kv: kv[1])
        record["estimated_rendition_seconds"] = round(longest, 1)
        if longest > BUDGET_SECONDS:
            reason += (f"; the {name} rendition needs about {longest:.0f} s, above the {BUDGET_SECONDS:.0f} s "
                       "budget of one Lambda run, and renditions are not chunked: it may run out of time")
    record.update(plan.summary(), state_machine="ladder", reason=reason)
    return Mode(record, None, settings.ladder_state_machine_arn, plan)


def sequence_mode(settings: Settings, previous: dict | None, spec: JobSpec) -> Mode:
    """A sequence render on AWS (sfn/transcode-sequence.asl.json): one Map item per clip, conformed
    to the canvas with the job's preset; a clip whose estimated encode
    (its frames at the canvas size, `cost_model.frames_seconds`) exceeds half of BUDGET_SECONDS is
    cut into that many parts (at most MAX_CLIP_PARTS), as chunked jobs keep each chunk within half
    the budget. The audio is one run beside the Map, the whole sequence's; then one join. Raises
    ValueError when the sequence machine is not deployed."""
    if not settings.sequence_state_machine_arn:
        raise ValueError("MPR_SEQUENCE_STATE_MACHINE_ARN is not set, so sequence renders cannot run on AWS; "
                         "run `mpr aws deploy` (or `mpr aws local`) and export the settings it prints")
    record = {k: v for k, v in (previous or {}).items() if k not in RUN_KEYS}
    canvas, preset = spec.sequence.conform, spec.preset_spec
    clips = [(c.start, c.end) for c in spec.sequence.clips]
    estimates = [frames_seconds(clip_frames(a, b, canvas.fps), canvas.width, canvas.height, preset)
                 for a, b in clips]
    half = BUDGET_SECONDS / 2
    parts = [1 if est is None else max(1, min(MAX_CLIP_PARTS, math.ceil(est / half))) for est in estimates]
    plan = SequencePlan.make(clips, canvas.fps, parts, MAX_CONCURRENCY)
    cut = sum(1 for n in parts if n > 1)
    reason = (f"sequence: {len(clips)} clips as {len(plan.items)} parallel Lambda runs"
              + (f" ({cut} clip(s) estimated above {half:.0f} s cut into parts)" if cut else "")
              + ", the audio once beside them, then one join")
    known = [e for e in estimates if e is not None]
    if known:
        record["estimated_clip_seconds"] = round(max(known), 1)
    record.update(plan.summary(), state_machine="sequence", reason=reason)
    return Mode(record, None, settings.sequence_state_machine_arn, sequence=plan)
