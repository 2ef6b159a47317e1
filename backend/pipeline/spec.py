"""`JobSpec`: everything a runner needs to run one job attempt, as one versioned, serialisable
value. Built once per attempt from the job row by `backend.jobs.jobspec`, stored on the row
(`TranscodeJob.spec`, so what ran is on record), carried verbatim in the Step Functions input
(`{"job_id", "attempt", "callback_url", "spec": JobSpec.to_dict()}`) and parsed back by the
Lambda with `JobSpec.from_dict`.

    {"version": 2,
     "input":  {"bucket": "mpr-media-in", "key": "clips/a.mp4"},   (or {"area": "in", "key": ...})
     "output": {"bucket": "mpr-media-out", "key": "a-h264-720p.mp4"},
     "preset": {...PresetSpec fields...},
     "trim":   {"start": 0.0, "end": 2.0, "accurate": true, "mode": "accurate"},
     "plan":   {...ChunkPlan.to_dict()...},                        (only when chunked)
     "ladder": {...TemplateSpec.to_dict()...},                     (only for an output template:
               several outputs under the output key, a folder prefix; run by pipeline.ladder)
     "sequence": {"canvas": {...SequenceCanvas.to_dict()...},       (only for a sequence render, run by
                  "clips": [{"input": {...Location...}, "start", "end", "source": {...MediaInfo...},
                             "sourceId", "name"}, ...]}             pipeline.sequence; `input` is then
                                                                    the first clip's source)

With a `sequence`, `plan` (when present: the AWS executor's) is a `pipeline.sequence_plan.SequencePlan`
(the Map items: each clip, or a long clip's parts), checked against the clips.
With a `ladder`, `plan` (when present) is not a chunk plan but the fitted ladder and its steps
(`pipeline.ladder_plan.LadderPlan.to_dict()`), made once by the AWS executor: the Step Functions
Map runs one Lambda per step, every Lambda reads the same fitted rungs.

Version 2 added `trim.mode` (keyframe | smart | accurate; smart runs `pipeline.smartcut`).
Version 3 added `sequence` (clips of several sources joined into one output; `SequenceSpec`).
Version 4 lets a `sequence` come with a `ladder`: the sequence is rendered with `preset` (the
mezzanine, `media.mezzanine`) into an intermediate, then the template's outputs are made from it
(`pipeline.sequence_ladder`; `sequence_stage()` and `template_stage()` are the two halves). Such a
spec has no `plan`: it runs on this machine's executor only.
Version 1 specs still parse: their mode follows from the preset (copy: keyframe, else accurate).
`ladder` and `sequence` are optional: specs without them are one-output jobs of one source.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from backend.media.chunking import ChunkingError, ChunkPlan
from backend.media.command import Trim
from backend.media.presets import PresetError, PresetSpec, validate_preset
from backend.media.probe import MediaInfo
from backend.media.sequence import ClipRange, SequenceCanvas
from backend.media.smartcut import TRIM_MODES
from backend.media.templates import TemplateError, TemplateSpec, validate_template

from .ladder_plan import LadderPlan
from .sequence_plan import SequencePlan

SPEC_VERSION = 4
READ_VERSIONS = (1, 2, 3, 4)  # versions from_dict accepts


class SpecError(ValueError):
    """The data is not a job spec this code can run; the message says which field is wrong."""


@dataclass(frozen=True)
class Location:
    """Where bytes live: an S3 `bucket` + key, or a storage `area` of this machine + key."""

    key: str
    bucket: str = ""
    area: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"bucket": self.bucket, "key": self.key} if self.bucket else {"area": self.area, "key": self.key}

    @classmethod
    def from_dict(cls, data: Any, name: str) -> "Location":
        if not isinstance(data, Mapping):
            raise SpecError(f"{name} must be an object with bucket and key")
        bucket, area, key = data.get("bucket", ""), data.get("area", ""), data.get("key")
        if (not isinstance(key, str) or not key or not isinstance(bucket, str) or not isinstance(area, str)
                or bool(bucket) == bool(area)):
            raise SpecError(f"{name}.bucket and {name}.key must be non-empty strings "
                            f"(or {name}.area and {name}.key for a storage area)")
        return cls(key=key, bucket=bucket, area=area)


@dataclass(frozen=True)
class SequenceClip:
    """One clip of a sequence render: `start`..`end` s of the source at `input` (described by `source`)."""

    input: Location
    start: float
    end: float
    source: dict[str, Any]  # MediaInfo.to_dict() of the clip's source, as probed at ingest
    source_id: int = 0
    name: str = ""

    @property
    def range(self) -> ClipRange:
        return ClipRange(self.start, self.end, MediaInfo.from_dict(self.source))

    def to_dict(self) -> dict[str, Any]:
        return {"input": self.input.to_dict(), "start": self.start, "end": self.end, "source": dict(self.source),
                "sourceId": self.source_id, "name": self.name}

    @classmethod
    def from_dict(cls, data: Any, index: int) -> "SequenceClip":
        name = f"sequence.clips[{index}]"
        if not isinstance(data, Mapping) or not isinstance(data.get("source"), Mapping):
            raise SpecError(f"{name} must be an object with input, start, end and source")
        try:
            start, end = float(data["start"]), float(data["end"])
            MediaInfo.from_dict(dict(data["source"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"{name}: {exc}") from exc
        if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or not end > start:
            raise SpecError(f"{name}: {start}..{end} is empty or negative")
        return cls(input=Location.from_dict(data.get("input"), f"{name}.input"), start=start, end=end,
                   source=dict(data["source"]), source_id=int(data.get("sourceId") or 0), name=str(data.get("name") or ""))


@dataclass(frozen=True)
class SequenceSpec:
    """A sequence render: its clips in play order and the canvas every clip is conformed to."""

    clips: tuple[SequenceClip, ...]
    canvas: dict[str, Any]  # SequenceCanvas.to_dict()

    @property
    def conform(self) -> SequenceCanvas:
        return SequenceCanvas.from_dict(self.canvas)

    def to_dict(self) -> dict[str, Any]:
        return {"canvas": dict(self.canvas), "clips": [c.to_dict() for c in self.clips]}

    @classmethod
    def from_dict(cls, data: Any) -> "SequenceSpec":
        if not isinstance(data, Mapping) or not isinstance(data.get("clips"), list) or not data["clips"]:
            raise SpecError("sequence must be an object with a non-empty list of clips and a canvas")
        clips = tuple(SequenceClip.from_dict(c, i) for i, c in enumerate(data["clips"]))
        try:
            canvas = SequenceCanvas.from_dict(data.get("canvas") or {}).to_dict()
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"sequence.canvas is not a canvas: {exc}") from exc
        return cls(clips=clips, canvas=canvas)


@dataclass(frozen=True)
class JobSpec:
    source: Location
    output: Location
    preset: dict[str, Any]  # PresetSpec.to_dict(): the preset as it was when the job was created
    trim_start: float = 0.0
    trim_end: float | None = None
    accurate: bool = True
    plan: dict[str, Any] | None = None  # ChunkPlan.to_dict() when the attempt runs chunked
    ladder: dict[str, Any] | None = None  # TemplateSpec.to_dict() when the job makes a template's outputs
    version: int = SPEC_VERSION
    trim_mode: str = ""  # keyframe | smart | accurate; "" = the preset's default (see `mode`)
    sequence: SequenceSpec | None = None  # a sequence render (pipeline.sequence); `source` is its first clip's

    # -- typed views
    @property
    def preset_spec(self) -> PresetSpec:
        return PresetSpec.from_dict(self.preset)

    @property
    def trim(self) -> Trim:
        return Trim(start=self.trim_start, end=self.trim_end, accurate=self.accurate)

    @property
    def mode(self) -> str:
        """How the trim is cut: the explicit mode, else keyframe for copy presets, accurate otherwise."""
        if self.trim_mode:
            return self.trim_mode
        return "keyframe" if self.preset.get("kind") == "copy" else "accurate"

    @property
    def smart(self) -> bool:
        return self.mode == "smart"

    @property
    def chunk_plan(self) -> ChunkPlan | None:
        return None if not self.chunked else ChunkPlan.from_dict(self.plan)

    @property
    def sequence_plan(self) -> SequencePlan | None:
        """A sequence render's Map items (AWS), None when it has no plan (the local run)."""
        return None if self.plan is None or self.sequence is None else SequencePlan.from_dict(self.plan)

    @property
    def template(self) -> TemplateSpec | None:
        return None if self.ladder is None else TemplateSpec.from_dict(self.ladder)

    @property
    def chunked(self) -> bool:
        return self.plan is not None and self.ladder is None and self.sequence is None

    @property
    def container(self) -> str:
        return str(self.preset.get("container") or "")

    @property
    def output_name(self) -> str:
        return Path(self.output.key).name

    def with_plan(self, plan: ChunkPlan | None) -> "JobSpec":
        return replace(self, plan=None if plan is None else plan.to_dict())

    # -- a sequence rendered, then an output template made from it (both `sequence` and `ladder`)
    @property
    def sequence_template(self) -> bool:
        return self.sequence is not None and self.ladder is not None

    def sequence_stage(self) -> "JobSpec":
        """The first half: the sequence alone, rendered with `preset` (the mezzanine) into one file."""
        return replace(self, ladder=None, plan=None)

    def template_stage(self, source: Location) -> "JobSpec":
        """The second half: the template's outputs from the rendered sequence at `source`, as a
        template job of one source (its whole length: no trim)."""
        return replace(self, sequence=None, plan=None, source=source, trim_start=0.0, trim_end=None)

    # -- JSON
    def to_dict(self) -> dict[str, Any]:
        """The spec as JSON-ready data; `plan` only when the attempt is chunked."""
        data = {
            "version": self.version,
            "input": self.source.to_dict(),
            "output": self.output.to_dict(),
            "preset": dict(self.preset),
            "trim": {"start": self.trim_start, "end": self.trim_end, "accurate": self.accurate, "mode": self.mode},
        }
        if self.plan is not None:
            data["plan"] = self.plan
        if self.ladder is not None:
            data["ladder"] = self.ladder
        if self.sequence is not None:
            data["sequence"] = self.sequence.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any) -> "JobSpec":
        """Parse and check a spec; SpecError says what is wrong (an unknown version included)."""
        if not isinstance(data, Mapping):
            raise SpecError("spec must be an object")
        if data.get("version") not in READ_VERSIONS:
            raise SpecError(f"unknown job spec version {data.get('version')!r} (this code runs versions "
                            f"{', '.join(map(str, READ_VERSIONS))})")
        source = Location.from_dict(data.get("input"), "input")
        output = Location.from_dict(data.get("output"), "output")
        if not isinstance(data.get("preset"), Mapping):
            raise SpecError("preset must be an object of preset fields")
        try:
            preset = validate_preset(PresetSpec.from_dict(data["preset"])).to_dict()
        except (PresetError, TypeError, ValueError) as exc:
            raise SpecError(f"invalid preset: {exc}") from exc
        trim = data.get("trim") or {}
        if not isinstance(trim, Mapping):
            raise SpecError("trim must be an object {start, end, accurate}")
        try:
            start = float(trim.get("start") or 0.0)
            end = None if trim.get("end") is None else float(trim["end"])
        except (TypeError, ValueError) as exc:
            raise SpecError("trim.start and trim.end must be numbers of seconds") from exc
        if not math.isfinite(start) or start < 0 or (end is not None and not end > start):
            raise SpecError(f"trim {start}..{end} is empty or negative")
        mode = trim.get("mode") or ""
        if mode not in ("", *TRIM_MODES):
            raise SpecError(f"trim.mode must be one of {', '.join(TRIM_MODES)}, not {mode!r}")
        if mode == "smart" and preset.get("kind") != "copy":
            raise SpecError("trim.mode smart needs a stream-copy preset")
        plan = data.get("plan")
        if plan is not None and data.get("ladder") is not None and data.get("sequence") is not None:
            raise SpecError("a sequence rendered with an output template has no plan: it runs on this "
                            "machine's executor only")
        if plan is not None and data.get("ladder") is not None:
            plan = _ladder_plan(plan)
        elif plan is not None and data.get("sequence") is not None:
            pass  # a SequencePlan, checked against the clips below
        elif plan is not None:
            try:
                plan = ChunkPlan.from_dict(plan).to_dict()
            except (KeyError, TypeError, ValueError, ChunkingError) as exc:
                raise SpecError(f"plan is not a chunk plan: {exc}") from exc
        ladder = data.get("ladder")
        if ladder is not None:
            if not isinstance(ladder, Mapping):
                raise SpecError("ladder must be an output template object")
            try:
                ladder = validate_template(TemplateSpec.from_dict(ladder)).to_dict()
            except (TemplateError, TypeError, ValueError) as exc:
                raise SpecError(f"ladder is not a valid output template: {exc}") from exc
        sequence = data.get("sequence")
        if sequence is not None:
            sequence = SequenceSpec.from_dict(sequence)
            if preset.get("kind") != "video":
                raise SpecError("a sequence render is one video preset's output (with a ladder: the "
                                "intermediate the template's outputs are made from)")
            if plan is not None:
                plan = _sequence_plan(plan, sequence)
        return cls(source=source, output=output, preset=preset, trim_start=start, trim_end=end,
                   accurate=bool(trim.get("accurate", True)), plan=plan, trim_mode=mode, ladder=ladder,
                   sequence=sequence)


def _sequence_plan(plan: Any, sequence: SequenceSpec) -> dict[str, Any]:
    try:
        parsed = SequencePlan.from_dict(plan)
        return parsed.check([(c.start, c.end) for c in sequence.clips], sequence.conform.fps).to_dict()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpecError(f"plan is not this sequence's plan: {exc}") from exc


def _ladder_plan(plan: Any) -> dict[str, Any]:
    try:
        return LadderPlan.from_dict(plan).to_dict()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpecError(f"plan is not a ladder plan: {exc}") from exc
