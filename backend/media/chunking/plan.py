"""The chunk plan's data model: which source frames each video chunk encodes, how the audio is
made (copied from the source, encoded in segments joined packet by packet, or encoded once,
whole: `AudioJob.mode`, its `AudioPart`s) and what the joined file must hold. Plain data, JSON-serialisable (it
travels inside a `backend.pipeline.JobSpec`, in the Step Functions input too).

Chunk i covers the source frames [first_i, first_i + frames_i). Chunk 0 seeks exactly like the
single pass (`start` = the in point); later chunks seek half a frame before their first frame,
and every chunk is bounded by time (`end`, half a frame after its last frame) AND by its frame
count, so no frame is lost or doubled at a join.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from ..presets import PresetSpec
from ..probe import MediaInfo
from . import commands

PLAN_VERSION = 1
CHUNKS_SHARE = 97.0  # percent of a chunked job's progress that is chunk encoding; the join is the rest


class ChunkingError(ValueError):
    """This job cannot be encoded in chunks; the message says why."""


@dataclass(frozen=True)
class Chunk:
    index: int
    start: float  # seek point in the source (s): the in point for chunk 0, else half a frame early
    end: float  # time bound (s): half a frame after the chunk's last frame
    frames: int  # exactly this many frames are encoded
    first: float  # source time of the first frame (a keyframe for chunks > 0 when aligned)

    @property
    def length(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class AudioPart:
    """One audio encode of a plan (`chunking.audio`): source samples [offset, offset + samples)
    of the range (offset may start before the part's first kept packet: the pre-roll); of the
    AAC packets it writes, `skip` are dropped and the next `keep` are the joined track's packets
    from `first_packet` on. A "whole" or "copy" plan has one part that keeps everything."""

    index: int
    offset: int  # samples from the range start where this encode's input begins
    samples: int  # input length (samples)
    skip: int = 0  # packets dropped at the start (priming + pre-roll)
    keep: int = 0  # packets kept (0: all of them, for "whole" and "copy")
    first_packet: int = 0  # index of the first kept packet in the joined track


@dataclass(frozen=True)
class AudioJob:
    spec: dict[str, Any]  # audio-only PresetSpec fields
    start: float
    end: float
    ext: str  # ".m4a" | ".mp3" | ".ogg" | ".aac" (ADTS, segments)
    mode: str = "whole"  # "copy" | "segments" | "whole" (chunking.audio.audio_mode says why)
    reason: str = ""
    sample_rate: int = 0
    samples: int = 0  # samples of the range (segments: the joined track holds exactly these)
    packets: int = 0  # AAC packets of the joined track (segments), priming packet included


@dataclass(frozen=True)
class JoinStep:
    container: str  # the job's container: the joined file's format
    chunk_ext: str
    frames: int  # frames the joined video must have (== sum of chunks == single pass)
    duration: float  # requested range (s)
    fps: float
    has_audio: bool


@dataclass(frozen=True)
class ChunkPlan:
    spec: dict[str, Any]
    trim: dict[str, Any]
    source: dict[str, Any]  # MediaInfo.to_dict() of the source
    chunks: tuple[Chunk, ...]
    audio: AudioJob | None
    join: JoinStep
    target_seconds: float
    aligned: bool  # cuts on source keyframes (False: constant-frame-rate grid)
    max_concurrency: int = 10
    version: int = PLAN_VERSION
    audio_parts: tuple[AudioPart, ...] = ()  # the Step Functions audio Map's items

    # -- typed views
    @property
    def preset(self) -> PresetSpec:
        return PresetSpec.from_dict(self.spec)

    @property
    def info(self) -> MediaInfo:
        return MediaInfo.from_dict(self.source)

    @property
    def total_frames(self) -> int:
        return self.join.frames

    def weight(self, index: int) -> float:
        """Share of the video work in chunk `index` (by frames; the weights add up to 1)."""
        return self.chunks[index].frames / max(1, self.total_frames)

    # -- JSON
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ChunkPlan":
        if d.get("version") != PLAN_VERSION:
            raise ChunkingError(f"unknown chunk plan version {d.get('version')!r}")
        audio = d.get("audio")
        parts = tuple(AudioPart(**p) for p in d.get("audio_parts") or ())
        if audio and not parts:  # a plan from before audio parts: the audio is one whole encode
            parts = (AudioPart(0, 0, 0),)
        return cls(
            spec=dict(d["spec"]), trim=dict(d["trim"]), source=dict(d["source"]),
            chunks=tuple(Chunk(**c) for c in d["chunks"]),
            audio=AudioJob(**audio) if audio else None,
            join=JoinStep(**d["join"]), target_seconds=float(d["target_seconds"]),
            aligned=bool(d["aligned"]), max_concurrency=int(d.get("max_concurrency") or 1),
            audio_parts=parts,
        )

    @classmethod
    def from_json(cls, text: str) -> "ChunkPlan":
        return cls.from_dict(json.loads(text))

    def summary(self, concurrency: int | None = None) -> dict[str, Any]:
        """What TranscodeJob.plan records about how the job ran."""
        return {
            "mode": "chunked", "chunks": len(self.chunks),
            "concurrency": concurrency or self.max_concurrency,
            "target_seconds": self.target_seconds, "aligned_to_keyframes": self.aligned,
            "frames": self.total_frames, "audio": self.audio_summary(),
            "chunk_frames": [c.frames for c in self.chunks],
        }

    def audio_summary(self) -> str:
        """How the audio is made, in words (TranscodeJob.plan, the Lambda's log)."""
        if self.audio is None:
            return "none"
        if self.audio.mode == "copy":
            return "copied from the source"
        if self.audio.mode == "segments":
            return f"encoded in {len(self.audio_parts)} segments, joined sample-exact"
        return "encoded once, whole" + (f" ({self.audio.reason})" if self.audio.reason else "")

    def audio_joins(self) -> list[float]:
        """Seconds (from the range start) where the joined audio passes from one part to the next."""
        if self.audio is None or self.audio.mode != "segments":
            return []
        return [(p.first_packet - 1) * 1024 / self.audio.sample_rate for p in self.audio_parts[1:]]

    # -- commands (paths/URLs differ per machine, so they are arguments)
    def chunk_command(self, index: int, src, dst) -> list[str]:
        return commands.chunk_command(self.preset, self.info, self.chunks[index], src, dst)

    def audio_command(self, src, dst, part: int = 0) -> list[str]:
        if self.audio is None:
            raise ChunkingError("this plan has no audio")
        return commands.audio_command(self.audio, self.info, src, dst,
                                      self.audio_parts[part] if self.audio_parts else None)

    def join_command(self, concat_file, dst, audio=None) -> list[str]:
        return commands.join_command(self.join, concat_file, dst, audio, self.audio, self.total_frames)
