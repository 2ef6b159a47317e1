"""A sequence rendered, then an output template's outputs made from it: the first stage of a
`renderSequence(id, templateId)` job (a JobSpec with both `sequence` and `ladder`; see
docs/sequences.md#with-an-output-template).

`render_intermediate` renders the spec's sequence with its preset — the mezzanine
(`media.mezzanine`: H.264 CRF 14, AAC 320k, no larger than the template's largest output) — into
one file in the work folder with `run_sequence`, so the clips are conformed, the audio made once,
joined and checked exactly as any sequence render is (frame count, every cut against its
source). Its progress is the first `sequence_share` of the job. The caller then runs the
template on that file as on any asset (`run_ladder`; the local executor's `_run_template`) on the
rest, and records what `Intermediate.record()` and `note()` say beside the ladder's.

Why an intermediate: a template's package is one FFmpeg decoding ONE source for every rung
(`media.ladder`), and a sequence is several sources conformed and joined; rendering the sequence
once and running the template unchanged costs one extra encode (the intermediate) but keeps one
implementation of each, and the cut check runs once, not once per output.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from backend.media.probe import MediaInfo

from .ladder import template_weight
from .reporter import Reporter, Share
from .sequence import SequenceResult, run_sequence
from .spec import JobSpec, Location, SpecError

INTERMEDIATE = "sequence-intermediate.mp4"  # in the attempt's work folder; never stored
SEQUENCE_WEIGHT = 2.0  # the intermediate's encode, and its cut check (about as much again: docs/sequences.md)


def sequence_share(spec: JobSpec) -> float:
    """The share of the job's progress the sequence stage takes, weighed against the template's
    encodes as `run_ladder` weighs its own steps."""
    return SEQUENCE_WEIGHT / (SEQUENCE_WEIGHT + template_weight(spec.template))


@dataclass
class Intermediate:
    spec: JobSpec  # the template stage's: the template's outputs from `path`
    path: Path
    info: MediaInfo  # the verified intermediate's
    sequence: SequenceResult
    share: float  # of the job's progress, spent; the template stage has the rest
    seconds: float

    def rest(self, reporter: Reporter) -> Reporter:
        """The job's reporter as the template stage sees it: its 0..1 on what is left."""
        return Share(reporter, self.share, 1.0 - self.share)

    def note(self) -> str:
        return self.sequence.note()

    def record(self) -> dict:
        """What the job's `plan` keeps about this stage (merged over the template's record)."""
        video = self.info.video
        return {**self.sequence.record(), "mode": "sequence+template",
                "intermediate": {"preset": self.spec.preset_spec.description,
                                 "width": video.display_width if video else None,
                                 "height": video.display_height if video else None,
                                 "bytes": self.path.stat().st_size, "seconds": round(self.seconds, 2)}}


async def render_intermediate(spec: JobSpec, sources: Sequence, workdir, reporter: Reporter, *,
                              concurrency: int = 2) -> Intermediate:
    """Render `spec`'s sequence with its preset into `workdir`/INTERMEDIATE and verify it; raise as
    `run_sequence` does (FFmpegError naming the clip, VerificationError, guard.StopRequested)."""
    if not spec.sequence_template:
        raise SpecError("render_intermediate needs a spec with a sequence and a ladder")
    began = time.monotonic()
    share = sequence_share(spec)
    dst = Path(workdir) / INTERMEDIATE
    result = await run_sequence(spec.sequence_stage(), sources, dst, Share(reporter, 0.0, share),
                                concurrency=concurrency, workdir=workdir)
    stage = spec.template_stage(Location(area="work", key=INTERMEDIATE))
    return Intermediate(stage, dst, result.info, result, share, time.monotonic() - began)
