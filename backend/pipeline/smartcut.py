"""`run_smartcut`: a frame-exact trim that re-encodes only the edges and copies the GOPs between.

Steps (commands from `backend.media.smartcut`, checks from `backend.media.smartcut_verify`):
plan from the source's keyframes → each part to MPEG-TS (edges re-encoded with an encoder matched
to the source, the middle's packets copied) and the audio → one concat-demuxer join into the
preset's container → verification. When the source cannot be smart cut (codec, container,
interlacing, variable frame rate, an H.264 open GOP, nothing to copy) or the verification rejects
the smart cut, the range is re-encoded as a whole with the same matched encoder and verified the
same way; the result's `plan.fallback` says why. Called by the local executor and the
single-pass Lambda alike.
"""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from backend.media.avcc import AvcCError, finish_mp4, parameter_sets
from backend.media.binaries import ffprobe_path
from backend.media.command import CommandError
from backend.media.probe import MediaInfo, probe
from backend.media.runner import Progress
from backend.media.smartcut import (SMART_CODECS, SmartPlan, VideoStream, audio_argv, concat_list, copy_part_argv,
                                    encode_part_argv, join_argv, merges_parameter_sets, plan_smartcut, read_stream)
from backend.media.smartcut_verify import SmartCutVerificationError, verify_smartcut
from backend.media.verify import VerificationError

from .guard import cancel_and_wait, run_guarded
from .reporter import Reporter, call
from .spec import JobSpec

VERIFY_SHARE = 0.1  # of the progress bar; the parts take the rest, weighted by their seconds
ENCODE_WEIGHT = 20.0  # a re-encoded second costs about this many copied seconds


@dataclass
class SmartResult:
    info: MediaInfo
    log_tail: str
    plan: SmartPlan
    checks: dict

    def note(self) -> str:
        return f"output verified: {self.info.duration:.3f} s, {self.plan.frames} frames, smart cut {self.plan.describe()}"

    def record(self) -> dict:
        return {**self.plan.record(), "checks": self.checks}


async def plan_for(src, spec: JobSpec, info: MediaInfo) -> tuple[SmartPlan, VideoStream]:
    """The smart cut plan of `spec`'s trim on `src` (reads the keyframe index once)."""
    stream = await asyncio.to_thread(read_stream, str(src))
    if stream.codec not in SMART_CODECS:
        raise CommandError(f"smart cut supports H.264 and HEVC sources, this one is {stream.codec or 'unknown'}")
    end = info.duration if spec.trim_end is None else min(spec.trim_end, info.duration)
    return plan_smartcut(stream, spec.trim_start, end, spec.container), stream


async def _cut(spec: JobSpec, src, dst: Path, plan: SmartPlan, stream: VideoStream, info: MediaInfo,
               reporter: Reporter, workdir: Path, budget: float | None) -> str:
    """Write every part and the audio (all at once: the copies take no CPU worth counting while
    the edges encode), then join them into `dst`. Progress: the parts' done seconds, weighted."""
    cost = [p.seconds * (ENCODE_WEIGHT if p.kind == "encode" else 1.0) for p in plan.parts]
    total = sum(cost) or 1.0
    done = [0.0] * len(plan.parts)
    reported = [0.0]

    def sink_for(n: int):
        async def sink(p: Progress) -> None:
            done[n] = cost[n] * min(max(p.percent, 0.0), 100.0) / 100.0
            fraction = (1.0 - VERIFY_SHARE) * sum(done) / total
            if fraction > reported[0]:  # parts finish out of order: report only forward steps
                reported[0] = fraction
                await call(reporter.progress(fraction, p.fps, p.speed, None))
        return sink

    runs, files = [], []
    for n, part in enumerate(plan.parts):
        path = workdir / f"part{n}.ts"
        argv = (copy_part_argv(src, path, stream, part) if part.kind == "copy"
                else encode_part_argv(src, path, stream, part, 0 if n == 0 else 1))
        runs.append(run_guarded(argv, duration=part.seconds, output=path, on_progress=sink_for(n), budget=budget,
                                should_stop=reporter.should_stop))
        files.append((path, part))
    audio, copied = None, False
    first, last = plan.parts[0].start, plan.parts[-1].end
    if info.audio is not None:
        audio = workdir / "audio.mka"
        argv, copied = audio_argv(src, audio, stream, first, last, info.audio.codec)
        runs.append(run_guarded(argv, duration=last - first, output=audio, budget=budget,
                                should_stop=reporter.should_stop))
    tasks = [asyncio.ensure_future(r) for r in runs]
    try:
        tails = list(await asyncio.gather(*tasks))
    except BaseException:
        await cancel_and_wait(tasks)  # one failed or we were cancelled: stop every other FFmpeg too
        raise
    # the first copied audio frame is at or after the in point: keep its distance
    offset = await asyncio.to_thread(_start_offset, audio, stream, first) if copied else 0.0
    listing = workdir / "parts.ffconcat"
    listing.write_text(concat_list(files, stream.fps))
    tails.append(await run_guarded(join_argv(listing, audio, offset, dst, spec.container, stream),
                                   duration=plan.frames / float(stream.fps), output=dst, budget=budget,
                                   should_stop=reporter.should_stop))
    if merges_parameter_sets(stream, spec.container):
        tails.append(await asyncio.to_thread(_one_sample_description, dst, [path for path, _ in files]))
    return "\n".join(t for t in tails if t)


def _one_sample_description(dst: Path, parts: list[Path]) -> str:
    """Every part's SPS/PPS into the output's avcC, moov to the front (backend.media.avcc). A file
    this cannot edit stays as the join wrote it (sets in-band, which FFmpeg and browsers read);
    the log says why."""
    try:
        units = [unit for part in parts for unit in parameter_sets(part)]
        added = finish_mp4(dst, units)
    except (AvcCError, OSError, subprocess.SubprocessError) as exc:
        return f"parameter sets left in-band: {exc}"
    return f"avcC: {added} parameter set(s) of the re-encoded parts added to the sample description"


def _start_offset(audio: Path, stream: VideoStream, first: float) -> float:
    """Seconds between the in point and the first copied audio frame (its pts kept by -copyts)."""
    proc = subprocess.run([ffprobe_path(), "-v", "error", "-select_streams", "a:0", "-show_entries",
                           "packet=pts_time", "-read_intervals", "%+#1", "-of", "json", str(audio)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    packets = json.loads(proc.stdout or "{}").get("packets") or [{}]
    pts = float(packets[0].get("pts_time") or 0.0)
    return max(0.0, pts - stream.container_start - first)


async def run_smartcut(spec: JobSpec, src, dst, reporter: Reporter, *, info: MediaInfo,
                       workdir: Path | None = None, budget: float | None = None) -> SmartResult:
    """Smart cut `src` into `dst` as `spec` says, verified; falls back to a whole-range re-encode
    (same checks) when a smart cut is not possible or not verified. Raises FFmpegError,
    guard.BudgetExceeded, guard.StopRequested or VerificationError; `dst` is removed on failure."""
    dst = Path(dst)
    work = Path(tempfile.mkdtemp(prefix=".mpr-smartcut-", dir=workdir))
    try:
        plan, stream = await plan_for(src, spec, info)
        tails = []
        for attempt in range(2):
            tails.append(await _cut(spec, src, dst, plan, stream, info, reporter, work, budget))
            await call(reporter.heartbeat())
            try:
                checks = await asyncio.to_thread(verify_smartcut, dst, src, plan, stream,
                                                 audio_expected=info.audio is not None)
                break
            except SmartCutVerificationError as exc:
                dst.unlink(missing_ok=True)
                if plan.mode != "smart" or attempt:
                    raise VerificationError(str(exc)) from None
                whole = plan_smartcut(replace(stream, keyframes=frozenset()), plan.parts[0].start,
                                      plan.parts[-1].end, spec.container)
                plan = replace(whole, fallback=f"the smart cut failed its check ({exc}); re-encoded the range")
        out = await asyncio.to_thread(probe, dst, strict=False)
        return SmartResult(out, "\n".join(tails)[-4000:], plan, checks)
    except BaseException:
        dst.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
