"""Chunked encoding on this machine: whether a job is worth chunking here (`local_decision`) and
its plan, cut on the local source's keyframes (`plan_local`). Running the plan is the pipeline's
(`backend.pipeline.chunked.run_chunked`: a pool of FFmpeg processes, the same chunk, audio and
join steps the Lambda runs one Map iteration at a time).
"""
from __future__ import annotations

import os
from dataclasses import replace

from backend.jobs.executors.cost_model import ChunkDecision, chunk_seconds_for, should_chunk
from backend.media.chunking import ChunkPlan, plan_chunks, read_frame_index
from backend.media.command import Trim
from backend.media.presets import PresetSpec
from backend.media.probe import MediaInfo, probe

SINGLE_ENCODER_CORES = 4  # about how many cores one x264/VP9 process keeps busy at 1080p
LOCAL_BUDGET_SECONDS = 120.0  # a longer estimated single pass is chunked on a machine with spare cores


def default_concurrency(cores: int | None = None) -> int:
    """Chunks at a time: every core busy, each FFmpeg with about two threads."""
    return max(2, (cores or os.cpu_count() or 2) // 2)


def local_decision(
    info: MediaInfo, spec: PresetSpec, trim: Trim | None, *, requested: bool | None = None,
    cores: int | None = None, budget_seconds: float = LOCAL_BUDGET_SECONDS,
) -> ChunkDecision:
    """Chunk locally when asked, or when the machine has more cores than one encoder keeps busy
    and the single pass (at SINGLE_ENCODER_CORES) is estimated above `budget_seconds`."""
    cores = cores or os.cpu_count() or 2
    decision = should_chunk(info, spec, budget_seconds, trim=trim, requested=requested,
                            vcpus=min(cores, SINGLE_ENCODER_CORES))
    if decision.chunked and requested is None and cores <= SINGLE_ENCODER_CORES:
        return ChunkDecision(False, f"single pass: {cores} cores are already busy with one encoder",
                             decision.estimated_seconds)
    return decision


def plan_local(
    src, info: MediaInfo, spec: PresetSpec, trim: Trim | None, *, concurrency: int | None = None,
    target_seconds: float | None = None,
) -> ChunkPlan:
    """A plan cut on the local source's keyframes, about two chunks per worker (blocking: ffprobe)."""
    concurrency = concurrency or default_concurrency()
    if info.audio is not None and info.audio.bit_rate is None:  # the catalog keeps no audio bit rate:
        fresh = probe(src, strict=False)  # read it, so audio that matches the preset is copied
        if fresh.audio is not None:
            info = replace(info, audio=replace(info.audio, bit_rate=fresh.audio.bit_rate))
    start = (trim or Trim()).start or 0.0
    end = info.duration if trim is None or trim.end is None else min(trim.end, info.duration)
    target = target_seconds or chunk_seconds_for(end - start, 2 * concurrency)
    return plan_chunks(info, spec, trim, index=read_frame_index(src), target_seconds=target,
                       max_concurrency=concurrency)
