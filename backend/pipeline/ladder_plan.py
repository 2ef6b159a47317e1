"""`LadderPlan`: an output template fitted to its source once (`media.ladder.fit_ladder`, from the
catalog's view of the source, as the local run fits it) plus the steps the AWS executor's Step
Functions Map runs, one Lambda each (`pipeline.ladder_steps`), as JSON. A JobSpec with a `ladder`
carries it as its `plan`, so every Lambda reads the same rungs.

    {"ladder": {...Ladder.to_dict()...}, "max_concurrency": 4,
     "steps": [{"step": "rendition", "index": 0, "name": "720p"}, ..., {"step": "storyboard"},
               {"step": "file", "index": 0, "name": "Archive MP4"}, {"step": "poster", "name": "poster"}]}
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from backend.media.command import Trim
from backend.media.ladder import Ladder, fit_ladder
from backend.media.probe import MediaInfo
from backend.media.templates import TemplateSpec
from backend.media.verify import VerificationError

MAX_CONCURRENCY = 40  # an inline Map runs at most 40 iterations at once on AWS
STEP_WEIGHTS = {"rendition": 1.0, "storyboard": 0.3, "file": 1.0, "poster": 0.1}


class StepError(ValueError):
    """A step that is not one of the plan's."""


def rendition_file(index: int) -> str:
    """The intermediate file of rung `index` (plain MP4, or M4A for audio), before packaging."""
    return f"rendition-{index}.mp4"


@dataclass(frozen=True)
class LadderPlan:
    ladder: Ladder
    steps: tuple[dict, ...]
    max_concurrency: int

    @classmethod
    def make(cls, template: TemplateSpec, info: MediaInfo, trim: Trim | None) -> "LadderPlan":
        """Fit the template to the source (VerificationError when it cannot be) and list its steps."""
        try:
            ladder = fit_ladder(template, info, trim)
        except ValueError as exc:
            raise VerificationError(str(exc)) from exc
        steps: list[dict] = [{"step": "rendition", "index": r.index, "name": r.name} for r in ladder.rungs]
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
        if sorted(s.get("index") for s in steps if s["step"] == "rendition") != rungs or rungs != list(range(len(rungs))):
            raise ValueError("the rendition steps are not the ladder's rungs")
        return cls(ladder, steps, max(1, int(data["max_concurrency"])))

    def summary(self) -> dict:
        """What `TranscodeJob.plan` records (the local run records the same `ladder.summary()`)."""
        return {"mode": "ladder", **self.ladder.summary(), "steps": len(self.steps),
                "concurrency": self.max_concurrency}

    def position(self, step: Any) -> int:
        """Where `step` is in the plan; SpecError when it is not one of the plan's steps."""
        try:
            return self.steps.index(dict(step))
        except (TypeError, ValueError):
            raise StepError(f"step {step!r} is not one of this job's planned steps") from None

    def weight(self, step: Mapping) -> float:
        """The step's share of the job's encoding progress (the steps' shares add up to 1)."""
        total = sum(STEP_WEIGHTS[s["step"]] for s in self.steps)
        return STEP_WEIGHTS[step["step"]] / total
