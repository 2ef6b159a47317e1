"""`SequencePlan`: how a sequence render runs as Step Functions Map iterations
(sfn/transcode-sequence.asl.json, docs/sequences.md#on-aws): the Map's `items` (one per clip, or a
long clip's parts) and how many run at once; the audio is one more invocation beside the Map (the
whole sequence's audio, encoded once as the local run encodes it). A JobSpec with a `sequence`
carries it as its `plan`, so every Lambda reads the same items; made once by the AWS executor
(`aws_plan.sequence_mode`, which decides how many parts a clip needs).

    {"mode": "sequence", "max_concurrency": 4, "frames": 425,
     "items": [{"index": 0, "clip": 0, "first": 0, "frames": 75, "parts": 1},
               {"index": 1, "clip": 1, "first": 0, "frames": 100, "parts": 2},
               {"index": 2, "clip": 1, "first": 100, "frames": 100, "parts": 2}, ...]}

A part of a clip is the clip's own command with its output frames first..first+frames-1 picked
after the rate change (`media.sequence.clip_command(part=...)`): the parts hold exactly the frames
the whole clip's encode would, and join by stream copy like clips do.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from backend.media.sequence import clip_frames

MAX_CONCURRENCY = 40  # an inline Map runs at most 40 iterations at once on AWS


@dataclass(frozen=True)
class SequencePart:
    """One video Map item: output frames first..first+frames-1 of clip `clip` (of its `parts` parts)."""

    index: int
    clip: int
    first: int
    frames: int
    parts: int = 1

    @property
    def part(self) -> tuple[int, int] | None:
        """The `clip_command` part, None for a whole clip (the very command the local run uses)."""
        return None if self.parts == 1 else (self.first, self.frames)

    def describe(self) -> str:
        whole = f"clip {self.clip + 1}"
        return whole if self.parts == 1 else f"{whole} frames {self.first}–{self.first + self.frames - 1}"


@dataclass(frozen=True)
class SequencePlan:
    items: tuple[SequencePart, ...]
    max_concurrency: int

    @property
    def frames(self) -> int:
        return sum(c.frames for c in self.items)

    @property
    def clips(self) -> int:
        return len({c.clip for c in self.items})

    @classmethod
    def make(cls, clips: Sequence[tuple[float, float]], fps: float, parts: Sequence[int] | None = None,
             max_concurrency: int | None = None) -> "SequencePlan":
        """Clip i ((start, end) seconds) cut into parts[i] near-equal parts (1: whole)."""
        items: list[SequencePart] = []
        for i, (start, end) in enumerate(clips):
            total = clip_frames(start, end, fps)
            n = max(1, min(int(parts[i]) if parts else 1, total))
            bounds = [math.floor(total * k / n) for k in range(n + 1)]
            for k in range(n):
                items.append(SequencePart(len(items), i, bounds[k], bounds[k + 1] - bounds[k], n))
        ways = max_concurrency or len(items)
        return cls(tuple(items), max(1, min(MAX_CONCURRENCY, ways, len(items))))

    def check(self, clips: Sequence[tuple[float, float]], fps: float) -> "SequencePlan":
        """ValueError unless the items cover every clip's frames, in order, each exactly once."""
        if [c.index for c in self.items] != list(range(len(self.items))):
            raise ValueError("the items are not numbered 0..n-1 in order")
        for i, (start, end) in enumerate(clips):
            mine = [c for c in self.items if c.clip == i]
            frames, at = clip_frames(start, end, fps), 0
            for c in mine:
                if c.first != at or c.frames < 1 or c.parts != len(mine):
                    raise ValueError(f"the parts of clip {i + 1} do not follow each other")
                at += c.frames
            if at != frames:
                raise ValueError(f"the parts of clip {i + 1} hold {at} frames, the clip {frames}")
        if [c.clip for c in self.items] != sorted(c.clip for c in self.items) or self.clips != len(clips):
            raise ValueError("the items are not the sequence's clips in play order")
        return self

    def weight(self, index: int) -> float:
        """Item `index`'s share of the encoding progress (frames)."""
        return self.items[index].frames / max(1, self.frames)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": "sequence", "max_concurrency": self.max_concurrency, "frames": self.frames,
                "items": [asdict(c) for c in self.items]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SequencePlan":
        if data.get("mode") != "sequence":
            raise ValueError("not a sequence plan (mode must be 'sequence')")
        items = tuple(SequencePart(**{k: int(v) for k, v in dict(c).items()}) for c in data["items"])
        return cls(items, max(1, int(data["max_concurrency"])))

    def summary(self) -> dict[str, Any]:
        """What `TranscodeJob.plan` records about the layout."""
        per_clip = [sum(1 for c in self.items if c.clip == i) for i in range(self.clips)]
        return {"mode": "sequence", "clips": self.clips, "items": len(self.items), "clip_parts": per_clip,
                "concurrency": self.max_concurrency, "frames": self.frames}
