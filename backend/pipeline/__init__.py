"""Run one job: from a `JobSpec` to a verified output file, the same way on this machine and in
the Lambda.

Between `media` (FFmpeg) and `storage`: imports only `backend.media`. Modules: `spec` (JobSpec,
the one serialisable job description), `reporter` (the Reporter protocol a runner reports
progress to and asks whether to stop), `guard` (one FFmpeg run within a time budget, stopped
when the reporter says so), `single` (run_single), `smartcut` (run_smartcut, reached through
run_single for a spec whose trim mode is smart), `chunked` (chunk/audio/join steps and
run_chunked), `ladder` (run_ladder: an output template's renditions, files and storyboard),
`ladder_plan` (LadderPlan: the template fitted once, cut into steps), `ladder_steps` (the same
work one step per Lambda — a rendition, the storyboard, a file — then `run_package`) and
`sequence` (run_sequence: clips of several sources conformed, joined and checked at every cut).
Where the bytes come from and where reports go is the adapters' business:
`backend.jobs.executors.local` here, `lambda/handler.py`, `lambda/chunk_actions.py` and
`lambda/ladder_actions.py` on AWS.
"""
from .reporter import NullReporter, Reporter
from .spec import SPEC_VERSION, JobSpec, Location, SpecError

__all__ = ["JobSpec", "Location", "NullReporter", "Reporter", "SPEC_VERSION", "SpecError"]
