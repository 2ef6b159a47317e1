"""How the AWS executor runs one job attempt: in one Lambda run (sfn/transcode.asl.json) or cut
into chunks that many Lambda runs encode in parallel (sfn/transcode-chunked.asl.json, docs/chunking.md).
A sequence render (`sequence_mode`) runs on sfn/transcode-sequence.asl.json: one Map item per clip,
a clip whose estimated encode exceeds half a Lambda run's budget cut into parts (docs/sequences.md).
An output-template job (`ladder_mode`) runs on sfn/transcode-ladder.asl.json: one Map item per
rendition, a video rendition whose estimate exceeds half the budget cut into parts of whole
segments the same way (`parts_for`, docs/streaming.md).

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
from backend.media.chunking import (
    ChunkingError, ChunkPlan, FrameIndex, chunkable, grid_index, plan_chunks, read_frame_index,
)
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
MAX_RENDITION_PARTS = 16  # a rendition's part seeks to its own window; more parts mean more items and a longer join
MAX_EXECUTION_INPUT = 200_000  # bytes; Step Functions refuses state data above 256 KiB (every Map item carries the spec)
# plan keys that describe one attempt's run: dropped before a new attempt decides again
RUN_KEYS = ("mode", "reason", "estimated_single_seconds", "state_machine", "chunks", "concurrency",
            "target_seconds", "aligned_to_keyframes", "frames", "audio", "chunk_frames", "wall_seconds",
            "frames_out", "renditions", "skipped", "segment_seconds", "packaging", "steps",
            "estimated_rendition_seconds", "rendition_parts", "clip_parts", "cuts", "stages", "estimated_clip_seconds")


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


def parts_for(estimate: float | None, cap: int) -> int:
    """How many parts an encode estimated at `estimate` s (`cost_model`) needs for each to take at
    most half of BUDGET_SECONDS, as chunks are kept (the other half absorbs the estimate's error,
    start-up and transfers); at most `cap`, 1 when nothing is known of the codec."""
    if estimate is None:
        return 1
    return max(1, min(cap, math.ceil(estimate / (BUDGET_SECONDS / 2))))


def frame_index(source: Callable[[], str]) -> tuple[MediaInfo, FrameIndex]:
    """A fresh probe of the source (the catalog keeps no frame count) and its frame index: the
    constant-frame-rate grid (headers only, even from S3), or for a variable-frame-rate source its
    scanned packets. Raises ProbeError, ChunkingError."""
    src = source()
    fresh = probe(src)
    try:
        return fresh, grid_index(fresh)
    except ChunkingError:  # variable frame rate: read every frame's time (one pass over packets)
        return fresh, read_frame_index(src)


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
        fresh, index = frame_index(source)
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
                info: MediaInfo, source: Callable[[], str] | None = None) -> Mode:
    """An output-template job on AWS (sfn/transcode-ladder.asl.json): the template fitted to the
    source once, here, from the catalog's view of it (as the local run fits it), one Map step per
    rendition, storyboard, file and poster. A video rendition whose estimated encode
    (`cost_model.estimate_seconds`) exceeds half of BUDGET_SECONDS is cut into that many parts
    (`parts_for`, at most MAX_RENDITION_PARTS) of whole segments, on the source's frames
    (`frame_index(source)`); when they cannot be known, or the rung converts the frame rate, it
    stays one run and the reason says so. Raises VerificationError when the template does not fit."""
    record = {k: v for k, v in (previous or {}).items() if k not in RUN_KEYS}
    plan = LadderPlan.make(template, info, spec.trim)
    notes: list[str] = []
    estimates = {r.index: estimate_seconds(info, r.preset, spec.trim, MEASURED_SPEEDS) for r in plan.ladder.video}
    wanted = {i: parts_for(est, MAX_RENDITION_PARTS) for i, est in estimates.items()}
    for rung in plan.ladder.video:
        why = chunkable(rung.preset, info) if wanted[rung.index] > 1 else ""
        if why:
            notes.append(f"the {rung.name} rendition is not split ({why})")
            wanted[rung.index] = 1
    if any(n > 1 for n in wanted.values()):
        try:
            if source is None:
                raise ChunkingError("no source to read its frames from")
            _, index = frame_index(source)
            plan = LadderPlan.make(template, info, spec.trim, parts=wanted, index=index)
        except (ChunkingError, ProbeError) as exc:
            notes.append(f"renditions not split ({exc})")
    split = {r.index: len(plan.parts(r.index)) for r in plan.ladder.video if plan.parts(r.index)}
    reason = (f"output template: {len(plan.steps)} step(s) in parallel Lambda runs (one per rendition"
              + (" or part of a long one" if split else "") + ", one per other output), then one packaging run"
              + (" that joins the parts" if split else ""))
    for rung in plan.ladder.video:
        if rung.index in split:
            parts = plan.parts(rung.index)
            reason += (f"; the {rung.name} rendition (about {estimates[rung.index]:.0f} s) in {len(parts)} parts of "
                       f"{parts[1].seek - parts[0].seek if len(parts) > 1 else 0:.0f} s")
    known = {r.name: (est, max(1, len(plan.parts(r.index)))) for r in plan.ladder.video
             if (est := estimates[r.index]) is not None}
    if known:
        record["estimated_rendition_seconds"] = round(max(est for est, _ in known.values()), 1)
        name, (longest, parts) = max(known.items(), key=lambda kv: kv[1][0] / kv[1][1])
        if longest / parts > BUDGET_SECONDS:
            reason += (f"; the {name} rendition needs about {longest:.0f} s"
                       + (f" ({longest / parts:.0f} s a part)" if parts > 1 else "")
                       + f", above the {BUDGET_SECONDS:.0f} s budget of one Lambda run: it may run out of time")
    if notes:
        reason += "; " + "; ".join(notes)
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
    parts = [parts_for(est, MAX_CLIP_PARTS) for est in estimates]
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
