"""Chunked encoding: cut a long source into GOP-aligned pieces that encode in parallel and join
back, by stream copy, into the same frames a single-pass encode of the job would produce.

One module per concern: `plan` (the ChunkPlan data model, JSON), `frames` (frame indexes),
`planner` (where the cuts go), `commands` (chunk/audio/join ffmpeg argv, built with
`command.build_command`) and `joins` (frame counts and the joined file's verification).
Which jobs are worth chunking on which machine (a cost model) is not FFmpeg knowledge: it lives
with the executors (`backend.jobs.executors.cost`).
"""
from .commands import audio_command, chunk_command, concat_list, join_command
from .frames import FrameIndex, grid_index, read_frame_index
from .joins import AV_SYNC_TOLERANCE, StreamStats, check_chunk_frames, stream_stats, verify_joined
from .plan import CHUNKS_SHARE, PLAN_VERSION, AudioJob, Chunk, ChunkingError, ChunkPlan, JoinStep
from .planner import (
    AUDIO_CONTAINERS,
    CHUNKABLE_CODECS,
    DEFAULT_CHUNK_SECONDS,
    MIN_CHUNK_SECONDS,
    chunkable,
    plan_chunks,
)

__all__ = [
    "AUDIO_CONTAINERS", "AV_SYNC_TOLERANCE", "AudioJob", "CHUNKABLE_CODECS", "CHUNKS_SHARE", "Chunk",
    "ChunkPlan", "ChunkingError", "DEFAULT_CHUNK_SECONDS", "FrameIndex", "JoinStep", "MIN_CHUNK_SECONDS",
    "PLAN_VERSION", "StreamStats", "audio_command", "check_chunk_frames", "chunk_command", "chunkable",
    "concat_list", "grid_index", "join_command", "plan_chunks", "read_frame_index", "stream_stats",
    "verify_joined",
]
