"""`LadderPlan`: an output template fitted to its source once (`media.ladder.fit_ladder`, from the
catalog's view of the source, as the local run fits it) plus the steps the AWS executor's Step
Functions Map runs, one Lambda each (`pipeline.ladder_steps`), as JSON. A JobSpec with a `ladder`
carries it as its `plan`, so every Lambda reads the same rungs.

    {"ladder": {...Ladder.to_dict()...}, "max_concurrency": 4,
     "steps": [{"step": "rendition", "index": 0, "name": "720p"}, ..., {"step": "storyboard"},
               {"step": "file", "index": 0, "name": "Archive MP4"}, {"step": "poster", "name": "poster"}]}

A video rendition too long for one Lambda run (the AWS executor decides how many parts,
`aws_plan.ladder_mode`) is one step per part instead, each carrying its `media.ladder.RenditionPart`:

    {"step": "rendition", "index": 0, "name": "1080p", "part": 1, "parts": 3, "first": 1800,
     "frames": 1800, "seek": 59.983333, "length": 60.0, "offset": 0.0}

`part_layout` cuts the rendition's frames (a `chunking.FrameIndex`) at multiples of a part length
that is itself a multiple of the segment target, so every part starts on a segment boundary (a
frame the whole rendition's keyframe expression forces) and the parts join by stream copy into the
frames, keyframes and timestamps the one-run rendition has (`pipeline.ladder_steps.run_package`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from backend.media.chunking import FrameIndex
from backend.media.command import Trim
from backend.media.ladder import Ladder, RenditionPart, fit_ladder
from backend.media.probe import MediaInfo
from backend.media.templates import TemplateSpec
from backend.media.verify import VerificationError

MAX_CONCURRENCY = 40  # an inline Map runs at most 40 iterations at once on AWS
STEP_WEIGHTS = {"rendition": 1.0, "storyboard": 0.3, "file": 1.0, "poster": 0.1}


class StepError(ValueError):
    """A step that is not one of the plan's."""


def rendition_file(index: int, part: RenditionPart | None = None) -> str:
    """The intermediate file of rung `index` (plain MP4, or M4A for audio), or of one of its parts,
    before packaging."""
    return f"rendition-{index}.mp4" if part is None else f"rendition-{index}-part-{part.part:03d}.mp4"


def rendition_part(step: Mapping) -> RenditionPart | None:
    """The part a rendition step encodes; None for a whole rendition (or another kind of step)."""
    if step.get("step") != "rendition" or "part" not in step:
        return None
    return RenditionPart(int(step["part"]), int(step["parts"]), int(step["first"]), int(step["frames"]),
                         float(step["seek"]), float(step["length"]), float(step.get("offset") or 0.0))


def part_layout(times: Sequence[float], start: float, end: float, segment: float, parts: int
                ) -> tuple[RenditionPart, ...]:
    """The rendition of [start, end) (frames at `times`, seconds from the container start) cut into
    at most `parts` parts of a whole number of segments each; () when it stays one piece.

    Part k starts at the first frame at or after k x the part length (counted from the first frame,
    as FFmpeg's forced-keyframe expression counts), which the whole rendition makes a keyframe. It
    reads from half a frame before that frame to half a frame after its last one; the first from
    the in point and the last to where the whole rendition ends (the first frame + the trim's
    length: FFmpeg counts an input `-t` from the first frame it keeps)."""
    frames = [t for t in times if start - 1e-9 <= t < end - 1e-9]
    length = end - start
    if parts < 2 or len(frames) < 2 or length <= segment:
        return ()
    span = math.ceil(length / parts / segment - 1e-9) * segment
    firsts: list[int] = []
    for k in range(parts):
        at = next((i for i, t in enumerate(frames) if t - frames[0] >= k * span - 1e-9), None)
        if at is None or (firsts and at == firsts[-1]):
            break
        firsts.append(at)
    if len(firsts) < 2:
        return ()
    bounds = firsts + [len(frames)]
    count = len(firsts)
    layout = []
    for k in range(count):
        a, b = bounds[k], bounds[k + 1]
        seek = start if k == 0 else (frames[a - 1] + frames[a]) / 2
        until = frames[0] + length if k == count - 1 else (frames[b - 1] + frames[b]) / 2
        offset = max(0.0, frames[a] - frames[0] - k * span)
        layout.append(RenditionPart(k, count, a, b - a, round(seek, 6), round(until - frames[a], 6), round(offset, 6)))
    return tuple(layout)


def _check_parts(index: int, steps: Sequence[Mapping]) -> None:
    """ValueError unless a rung's steps are one whole rendition or its parts 0..n-1, each following
    the one before (frames and reading window), the first at the rung's first frame."""
    parts = [rendition_part(s) for s in steps]
    if len(parts) == 1 and parts[0] is None:
        return
    if None in parts:
        raise ValueError(f"rendition {index} has a whole step beside others")
    parts.sort(key=lambda p: p.part)
    at, seek = 0, -1.0
    for k, p in enumerate(parts):
        if p.part != k or p.parts != len(parts) or p.first != at or p.frames < 1 or p.length <= 0 or p.seek <= seek:
            raise ValueError(f"the parts of rendition {index} do not follow each other")
        at, seek = p.first + p.frames, p.seek


@dataclass(frozen=True)
class LadderPlan:
    ladder: Ladder
    steps: tuple[dict, ...]
    max_concurrency: int

    @classmethod
    def make(cls, template: TemplateSpec, info: MediaInfo, trim: Trim | None, *,
             parts: Mapping[int, int] | None = None, index: FrameIndex | None = None) -> "LadderPlan":
        """Fit the template to the source (VerificationError when it cannot be) and list its steps.
        `parts`: how many parts a video rung (by index) is cut into (`part_layout` over `index`,
        the source's frames); a rung not named stays one step."""
        try:
            ladder = fit_ladder(template, info, trim)
        except ValueError as exc:
            raise VerificationError(str(exc)) from exc
        steps: list[dict] = []
        for r in ladder.rungs:
            wanted = (parts or {}).get(r.index, 1)
            layout = () if r.kind != "video" or index is None or wanted < 2 else part_layout(
                index.times, ladder.start, ladder.start + ladder.length, ladder.segment_seconds, wanted)
            steps += [{"step": "rendition", "index": r.index, "name": r.name, **asdict(p)} for p in layout] or \
                [{"step": "rendition", "index": r.index, "name": r.name}]
        if ladder.storyboard:
            steps.append({"step": "storyboard"})
        steps += [{"step": "file", "index": i, "name": p.name} for i, p in enumerate(template.files)]
        if template.poster is not None:
            steps.append({"step": "poster", "name": template.poster.name})
        return cls(ladder, tuple(steps), max(1, min(MAX_CONCURRENCY, len(steps))))

    def to_dict(self) -> dict[str, Any]:
        return {"ladder": self.ladder.to_dict(), "steps": [dict(s) for s in self.steps],
                "max_concurrency": self.max_concurrency}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "LadderPlan":
        steps = tuple(dict(s) for s in data["steps"])
        if any(s.get("step") not in STEP_WEIGHTS for s in steps):
            raise ValueError("a step is not one of " + ", ".join(STEP_WEIGHTS))
        ladder = Ladder.from_dict(data["ladder"])
        rungs = sorted(r.index for r in ladder.rungs)
        if sorted({s.get("index") for s in steps if s["step"] == "rendition"}) != rungs \
                or rungs != list(range(len(rungs))):
            raise ValueError("the rendition steps are not the ladder's rungs")
        for rung in ladder.rungs:
            mine = [s for s in steps if s["step"] == "rendition" and s["index"] == rung.index]
            if rung.kind != "video" and len(mine) > 1:
                raise ValueError(f"audio rendition {rung.index} is encoded whole")
            _check_parts(rung.index, mine)
        return cls(ladder, steps, max(1, int(data["max_concurrency"])))

    def parts(self, index: int) -> tuple[RenditionPart, ...]:
        """Rung `index`'s parts in order; () when it is one step."""
        found = [rendition_part(s) for s in self.steps if s["step"] == "rendition" and s["index"] == index]
        return tuple(sorted((p for p in found if p is not None), key=lambda p: p.part))

    def summary(self) -> dict:
        """What `TranscodeJob.plan` records (the local run records the same `ladder.summary()`)."""
        return {"mode": "ladder", **self.ladder.summary(), "steps": len(self.steps),
                "concurrency": self.max_concurrency,
                "rendition_parts": [max(1, len(self.parts(r.index))) for r in self.ladder.rungs]}

    def position(self, step: Any) -> int:
        """Where `step` is in the plan; SpecError when it is not one of the plan's steps."""
        try:
            return self.steps.index(dict(step))
        except (TypeError, ValueError):
            raise StepError(f"step {step!r} is not one of this job's planned steps") from None

    def weight(self, step: Mapping) -> float:
        """The step's share of the job's encoding progress (the steps' shares add up to 1): a part
        of a rendition weighs its share of the rendition's frames."""
        total = sum(STEP_WEIGHTS[s["step"]] for s in self.steps if rendition_part(s) is None) \
            + STEP_WEIGHTS["rendition"] * len({s["index"] for s in self.steps if rendition_part(s) is not None})
        part = rendition_part(step)
        share = 1.0 if part is None else part.frames / max(1, sum(p.frames for p in self.parts(int(step["index"]))))
        return STEP_WEIGHTS[step["step"]] * share / total
