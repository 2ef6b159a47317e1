"""Verifying an audio track joined from separately encoded segments: sample count and joins.

`check_audio_joins(path, joins, expected_samples=, reference=)` decodes short windows around each
join (or, with a `reference`, both whole tracks) and measures:

- **sample count**: the track's length in samples as its container states it (`duration_ts`), and,
  with a reference, the decoded sample counts of both, which must be equal;
- **discontinuity at each join**: the largest second difference x[n+1] - 2x[n] + x[n-1] within
  `JOIN_WINDOW` samples of the join, minus the largest in the neighbourhood on both sides (what
  the signal itself does there). A step, a dropped or doubled sample or a cut waveform shows up
  as a spike there; a continuous signal (a sine: 440 Hz at -18 dBFS has second differences near
  -68 dBFS) does not. Reported in dBFS, at most `THRESHOLD_DB` (-60) passes;
- **deviation from the reference** (with one): the largest |joined - reference| near each join,
  against the largest anywhere else in the track. Two encodes of the same samples differ by their
  quantisation noise, a wrong overlap (missing pre-roll, shifted segment) by far more, and only
  at the joins: the joins may not deviate more than `DEVIATION_MARGIN_DB` above the rest.

Used by the chunked pipeline's verification (`backend.pipeline.chunked.join_chunks`) and by the
tests; knows nothing of plans: joins are seconds from the track's start.
"""
from __future__ import annotations

import array
import json
import math
import subprocess
from dataclasses import dataclass, field
from typing import Sequence

from . import limits
from .binaries import ffmpeg_path, ffprobe_path
from .paths import ff_target
from .verify import VerificationError

THRESHOLD_DB = -60.0
JOIN_WINDOW = 48  # samples either side of a join searched for a discontinuity
NEIGHBOURHOOD = 4096  # samples either side compared with it
DEVIATION_SPAN = 2048  # samples either side of a join where a wrong overlap would show (two AAC frames)
DEVIATION_MARGIN_DB = 6.0
FLOOR = 1e-9


def dbfs(x: float) -> float:
    return 20.0 * math.log10(max(abs(x), FLOOR))


@dataclass(frozen=True)
class JoinReading:
    seconds: float
    discontinuity_db: float  # second-difference spike above its neighbourhood, dBFS
    deviation_db: float | None = None  # max |joined - reference| near the join, dBFS


@dataclass
class AudioJoinReport:
    samples: int  # as the container states
    sample_rate: int
    channels: int
    joins: list[JoinReading] = field(default_factory=list)
    decoded_samples: int | None = None
    reference_samples: int | None = None
    deviation_elsewhere_db: float | None = None

    def problems(self, expected_samples: int | None = None, threshold_db: float = THRESHOLD_DB) -> list[str]:
        out = []
        if expected_samples is not None and self.samples != expected_samples:
            out.append(f"the audio holds {self.samples} samples, {expected_samples} were expected")
        if self.reference_samples is not None and self.decoded_samples != self.reference_samples:
            out.append(f"the audio decodes to {self.decoded_samples} samples, the reference to "
                       f"{self.reference_samples}")
        for j in self.joins:
            if j.discontinuity_db > threshold_db:
                out.append(f"discontinuity of {j.discontinuity_db:.1f} dBFS at the join at {j.seconds:.3f} s "
                           f"(at most {threshold_db:g} dBFS)")
            if j.deviation_db is not None and self.deviation_elsewhere_db is not None and \
                    j.deviation_db > self.deviation_elsewhere_db + DEVIATION_MARGIN_DB:
                out.append(f"the join at {j.seconds:.3f} s departs from the reference by {j.deviation_db:.1f} dBFS, "
                           f"the rest of the track by at most {self.deviation_elsewhere_db:.1f} dBFS")
        return out


def audio_stream(path, timeout: float = 60) -> tuple[int, int, int]:
    """(samples as the container states them, sample rate, channels) of the first audio stream."""
    argv = [ffprobe_path(), "-v", "error", "-select_streams", "a:0", "-show_entries",
            "stream=sample_rate,channels,duration_ts,time_base", "-of", "json", ff_target(path)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          **limits.probe_spawn_options())
    streams = json.loads(proc.stdout or "{}").get("streams") or []
    if proc.returncode != 0 or not streams:
        raise VerificationError(f"no audio stream to check in {path}")
    s = streams[0]
    rate, channels = int(s.get("sample_rate") or 0), int(s.get("channels") or 0)
    num, _, den = (s.get("time_base") or "1/1").partition("/")
    ticks = int(s.get("duration_ts") or 0)
    samples = int(round(ticks * int(num) * rate / int(den or 1)))
    return samples, rate, channels


def decode(path, start: float | None = None, length: float | None = None, timeout: float = 300) -> array.array:
    """Interleaved float samples of the first audio stream (all of it, or a window)."""
    argv = [ffmpeg_path(), "-v", "error", "-nostdin"]
    if start is not None:
        argv += ["-ss", f"{max(start, 0.0):.6f}"]
    argv += ["-i", ff_target(path)]
    if length is not None:
        argv += ["-t", f"{length:.6f}"]
    argv += ["-map", "0:a:0", "-f", "f32le", "-c:a", "pcm_f32le", "-"]
    proc = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise VerificationError(f"cannot decode the audio of {path}: {proc.stderr.decode(errors='replace')[-300:]}")
    samples = array.array("f")
    samples.frombytes(proc.stdout[: len(proc.stdout) // 4 * 4])
    return samples


def discontinuity(x: Sequence[float], channels: int, at: int) -> float:
    """Second-difference spike at frame index `at` of interleaved `x` over its neighbourhood (linear, >= 0)."""
    frames = len(x) // channels
    worst = 0.0
    for c in range(channels):
        def d2(n: int) -> float:
            return abs(x[(n + 1) * channels + c] - 2 * x[n * channels + c] + x[(n - 1) * channels + c])

        near_lo, near_hi = max(1, at - JOIN_WINDOW), min(frames - 1, at + JOIN_WINDOW)
        near = max((d2(n) for n in range(near_lo, near_hi)), default=0.0)
        around = [n for n in range(max(1, at - NEIGHBOURHOOD), min(frames - 1, at + NEIGHBOURHOOD))
                  if abs(n - at) > 2 * JOIN_WINDOW]
        base = max((d2(n) for n in around), default=0.0)
        worst = max(worst, near - base)
    return worst


def check_audio_joins(path, joins: Sequence[float], *, expected_samples: int | None = None, reference=None,
                      threshold_db: float = THRESHOLD_DB, raise_on_failure: bool = True) -> AudioJoinReport:
    """Measure the joined audio track of `path` (see the module docstring); raise VerificationError
    saying what is wrong unless `raise_on_failure` is False. `joins` are seconds from the start."""
    samples, rate, channels = audio_stream(path)
    report = AudioJoinReport(samples, rate, channels)
    if reference is not None:
        x, ref = decode(path), decode(reference)
        report.decoded_samples, report.reference_samples = len(x) // channels, len(ref) // channels
        positions = [int(round(t * rate)) for t in joins]
        near = set()
        for p in positions:
            near.update(range(max(0, p - DEVIATION_SPAN) * channels, (p + DEVIATION_SPAN) * channels))
        count = min(len(x), len(ref))
        elsewhere = max((abs(x[i] - ref[i]) for i in range(count) if i not in near), default=0.0)
        report.deviation_elsewhere_db = dbfs(elsewhere)
        for t, p in zip(joins, positions):
            lo, hi = max(0, p - DEVIATION_SPAN) * channels, min(count, (p + DEVIATION_SPAN) * channels)
            dev = max((abs(x[i] - ref[i]) for i in range(lo, hi)), default=0.0)
            report.joins.append(JoinReading(t, dbfs(discontinuity(x, channels, p)), dbfs(dev)))
    else:
        lead = (NEIGHBOURHOOD + 2048) / rate  # decoded past a seek's first (incomplete) frame
        for t in joins:
            start = max(0.0, t - lead)
            x = decode(path, start, 2 * lead)
            report.joins.append(JoinReading(t, dbfs(discontinuity(x, channels, int(round((t - start) * rate))))))
    problems = report.problems(expected_samples, threshold_db)
    if problems and raise_on_failure:
        raise VerificationError("; ".join(problems))
    return report
