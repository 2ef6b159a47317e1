"""Chunked encoding: cut a long source into GOP-aligned pieces that encode in parallel and join
back, by stream copy, into the same frames a single-pass encode of the job would produce.

One module per concern: `plan` (the ChunkPlan data model, JSON), `frames` (frame indexes),
`planner` (where the cuts go), `audio` (copy, segment or whole-encode the audio; joining AAC
segments packet by packet), `commands` (chunk/audio/join ffmpeg argv, built with
`command.build_command`) and `joins` (frame counts and the joined file's verification).
Which jobs are worth chunking on which machine (a cost model) is not FFmpeg knowledge: it lives
with the executors (`backend.jobs.executors.cost`).
"""
from .audio import AAC_FRAME, AUDIO_PART_SECONDS, adts_frames, audio_mode, join_adts, plan_parts
from .commands import audio_command, chunk_command, concat_list, join_command, moov_room, setts_filter
from .frames import FrameIndex, grid_index, read_frame_index
from .joins import AV_SYNC_TOLERANCE, StreamStats, check_chunk_frames, stream_stats, verify_joined
from .plan import CHUNKS_SHARE, PLAN_VERSION, AudioJob, AudioPart, Chunk, ChunkingError, ChunkPlan, JoinStep
from .planner import (
    AUDIO_CONTAINERS,
    CHUNKABLE_CODECS,
    DEFAULT_CHUNK_SECONDS,
    MIN_CHUNK_SECONDS,
    chunkable,
    plan_chunks,
)

__all__ = [
    "AAC_FRAME", "AUDIO_PART_SECONDS", "AudioPart", "adts_frames", "audio_mode", "join_adts", "moov_room",
    "plan_parts", "setts_filter",
    "AUDIO_CONTAINERS", "AV_SYNC_TOLERANCE", "AudioJob", "CHUNKABLE_CODECS", "CHUNKS_SHARE", "Chunk",
    "ChunkPlan", "ChunkingError", "DEFAULT_CHUNK_SECONDS", "FrameIndex", "JoinStep", "MIN_CHUNK_SECONDS",
    "PLAN_VERSION", "StreamStats", "audio_command", "check_chunk_frames", "chunk_command", "chunkable",
    "concat_list", "grid_index", "join_command", "plan_chunks", "read_frame_index", "stream_stats",
    "verify_joined",
]
