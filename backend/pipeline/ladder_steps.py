"""An output template's job cut into steps that run apart — one per rendition, storyboard, file
and poster — and a packaging step that joins the renditions into the streaming package. The
AWS executor runs them as a Step Functions Map (one Lambda per step) and one Lambda after it;
on this machine `run_ladder` stays one FFmpeg run (the source decoded once).

Nothing here is a second copy of `run_ladder`: a rendition is `media.ladder.rendition_command`
(the scaler, encoder and keyframe instants of `ladder_command`, one rung alone), the package is
`media.ladder.package_command` (the same DASH muxer, by stream copy) checked and measured by
`pipeline.ladder.finish_rendition_package`, and the storyboard, files and poster are the same
commands and record builders `run_ladder` uses.

A long video rendition may be planned as parts (`LadderPlan`'s `RenditionPart`s, each a whole
number of segments): each part is `rendition_command(part=...)`, frame count checked, and the
package step joins a rung's parts by stream copy (`join_rendition`, the chunked jobs' join
command) before segmenting, so the package is the one a single run per rendition makes.

The steps are those of the spec's `LadderPlan` (`pipeline.ladder_plan`, kept in `JobSpec.plan`).
"""
from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Mapping, Sequence

from backend.media.chunking import concat_list, stream_stats
from backend.media.ladder import (
    RenditionPart, join_parts_command, package_command, rendition_command, storyboard_command,
)
from backend.media.probe import MediaInfo, ProbeError, probe
from backend.media.templates import output_file_name
from backend.media.verify import VerificationError

from .guard import run_guarded
from .ladder import LadderResult, file_record, finish_rendition_package, finish_storyboard, playback_name
from .ladder_plan import LadderPlan, rendition_file, rendition_part
from .reporter import Reporter, call, progress_sink
from .single import run_single
from .spec import JobSpec, SpecError

def plan_of(spec: JobSpec) -> LadderPlan:
    if spec.ladder is None or spec.plan is None:
        raise SpecError("this spec carries no ladder plan (an output template job planned by the AWS executor)")
    return LadderPlan.from_dict(spec.plan)


async def run_step(spec: JobSpec, step: Mapping, src, outdir: Path, reporter: Reporter, *,
                   info: MediaInfo | None = None, budget: float | None = None) -> dict:
    """Run one planned step from `src` into `outdir`. Returns {"step", "files": names written in
    outdir, "output": its job.outputs record (None for a rendition, which the package step
    measures), "log_tail"}. Raises FFmpegError, guard.StopRequested/BudgetExceeded, VerificationError."""
    plan = plan_of(spec)
    plan.position(step)
    ladder, template = plan.ladder, spec.template
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    kind = step["step"]
    if kind in ("rendition", "storyboard"):
        part, length = rendition_part(step), ladder.length
        if kind == "rendition":
            rung = next(r for r in ladder.rungs if r.index == step["index"])
            name = rendition_file(rung.index, part)
            argv = rendition_command(src, outdir / name, ladder, rung, part=part)
            if part is not None:
                length = part.length
        else:
            argv = storyboard_command(src, outdir, ladder)
        tail = await run_guarded(argv, duration=length, output=None, on_progress=progress_sink(reporter),
                                 budget=budget, should_stop=reporter.should_stop)
        await call(reporter.heartbeat())
        if kind == "rendition":
            await asyncio.to_thread(_check_rendition, outdir / name, rung.kind, length)
            if part is not None and not part.last:
                await asyncio.to_thread(_check_part, outdir / name, part)
            return {"step": dict(step), "files": [name], "output": None, "log_tail": tail}
        record = await finish_storyboard(outdir, ladder)
        files = sorted(p.name for p in outdir.glob("storyboard*"))
        return {"step": dict(step), "files": files, "output": record, "log_tail": tail}
    preset = template.files[step["index"]] if kind == "file" else template.poster
    name = output_file_name(preset)
    single = await run_single(replace(spec, preset=preset.to_dict(), ladder=None, plan=None), src, outdir / name,
                              reporter, info=info, budget=budget)
    return {"step": dict(step), "files": [name], "output": file_record(preset, kind, name, outdir, single),
            "log_tail": single.log_tail}


def _check_rendition(path: Path, kind: str, length: float) -> None:
    try:
        info = probe(str(path))
    except ProbeError as exc:
        raise VerificationError(f"the encoded rendition cannot be read: {exc}") from exc
    if (info.video if kind == "video" else info.audio) is None:
        raise VerificationError(f"the encoded rendition has no {kind} stream")
    if info.duration is None or abs(info.duration - length) > max(0.2, 0.02 * length):
        raise VerificationError(f"the encoded rendition lasts {info.duration} s, not {length:.3f} s")


def _check_part(path: Path, part: RenditionPart) -> None:
    """A part that another follows holds exactly its planned frames (the last one ends where the
    whole rendition ends, checked by duration like a whole rendition)."""
    got = stream_stats(path).video_frames
    if got != part.frames:
        raise VerificationError(f"part {part.part + 1} of {part.parts} has {got} frames, the plan says {part.frames}")


async def join_rendition(parts: Sequence[Path], dst: Path, fps: float, *, budget: float | None = None,
                         should_stop=None) -> int:
    """Join a rendition's encoded parts (in order) into `dst` by stream copy, check that it holds
    every part's frames and a keyframe where each part starts, and delete the parts (their room in
    /tmp goes to the package). Returns the frame count; raises VerificationError."""
    stats = [await asyncio.to_thread(stream_stats, p) for p in parts]
    frames = sum(s.video_frames for s in stats)
    listing = Path(dst).with_suffix(".txt")
    listing.write_text(concat_list(parts))
    seconds = sum(s.video_duration for s in stats)
    await run_guarded(join_parts_command(listing, dst, frames, seconds, fps), duration=seconds, output=None,
                      budget=budget, should_stop=should_stop)
    joined = await asyncio.to_thread(stream_stats, dst)
    if joined.video_frames != frames:
        raise VerificationError(f"the joined rendition has {joined.video_frames} frames, its parts {frames}")
    starts, at = [], 0.0
    for s in stats:
        starts.append(round(at, 3))
        at += s.video_duration
    keys = {round(k, 3) for k in joined.keyframes}
    missing = [t for t in starts if not any(abs(t - k) <= 0.0015 for k in keys)]
    if missing:
        raise VerificationError(f"the joined rendition has no keyframe where a part starts ({missing[0]:.3f} s)")
    for p in parts:
        Path(p).unlink(missing_ok=True)
    listing.unlink(missing_ok=True)
    return frames


async def run_package(spec: JobSpec, renditions: Mapping[int, Path | Sequence[Path]], outdir: Path,
                      reporter: Reporter, *, budget: float | None = None) -> tuple[list[dict], str | None, str]:
    """Segment the encoded renditions (rung index → file, or its parts in order, joined here first)
    into the package in `outdir` by stream copy, measure and check it, write the master playlist:
    (rendition records, entry file, log tail)."""
    ladder = plan_of(spec).ladder
    if not ladder.packaged:
        return [], None, ""
    whole: dict[int, Path] = {}
    for rung in ladder.rungs:
        got = renditions.get(rung.index)
        if got is None:
            continue
        if isinstance(got, (str, Path)):
            whole[rung.index] = Path(got)
            continue
        paths = [Path(p) for p in got]
        if len(paths) == 1:
            whole[rung.index] = paths[0]
            continue
        joined = paths[0].parent / rendition_file(rung.index)
        await join_rendition(paths, joined, rung.fps or 30.0, budget=budget, should_stop=reporter.should_stop)
        whole[rung.index] = joined
    rungs = [(r, whole[r.index]) for r in ladder.rungs if r.index in whole]
    try:
        argv = package_command(rungs, outdir, ladder)
    except ValueError as exc:
        raise VerificationError(str(exc)) from exc
    Path(outdir).mkdir(parents=True, exist_ok=True)
    tail = await run_guarded(argv, duration=ladder.length, output=None, on_progress=progress_sink(reporter),
                             budget=budget, should_stop=reporter.should_stop)
    records = await finish_rendition_package(outdir, ladder)
    return records, playback_name(ladder), tail


def assemble(spec: JobSpec, step_results: list[Mapping], renditions: list[dict], playback: str | None,
             files: list[str], log_tail: str = "") -> LadderResult:
    """The job's result in `run_ladder`'s shape and order (skipped rungs, renditions, storyboard,
    files, poster) from the steps' records and the package's."""
    plan = plan_of(spec)
    result = LadderResult(plan.ladder, [{"name": n, "role": "rendition", "status": "skipped", "reason": why}
                                        for n, why in plan.ladder.skipped])
    result.outputs += renditions
    by_position = sorted(step_results, key=lambda r: plan.position(r["step"]))
    result.outputs += [r["output"] for r in by_position if r.get("output")]
    result.playback = playback
    result.files = sorted(files)
    result.log_tail = log_tail
    return result


def primary_name(result: LadderResult) -> str | None:
    """The first ordinary file output (the job's output asset), by name in the package folder."""
    return next((o["key"] for o in result.outputs if o.get("role") == "file" and o.get("key")), None)
