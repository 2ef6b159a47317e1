"""Checking a rendered sequence (`verify_sequence`): the frame count is the sum of the clips'
frames at the output rate, the video lasts that long (within one frame), the audio ends within
one frame of the video, and every cut shows the right source frames.

The cut check decodes the output's first and last frame of every clip and compares each (SSIM,
FFmpeg's `ssim` filter) with the source frames at that place, conformed the same way the clip was
(`sequence.video_filters` from the clip's in point), and with their neighbours one frame either
side: the expected frame must match (SSIM ≥ CUT_SSIM) and no neighbour may match clearly better (by
more than SAME_PICTURE: one matching as well is the same picture, repeated by a frame-rate change or
not moving at all, where the encoder's noise decides the last digits), so a cut one frame early or late
in moving pictures, or a clip from the wrong place, fails.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from typing import Sequence

from . import limits
from .binaries import ffmpeg_path
from .chunking.joins import stream_stats
from .paths import ff_target
from .sequence import ClipRange, SequenceCanvas, clip_frames, video_filters
from .verify import VerificationError

CUT_SSIM = 0.97  # measured: H.264 CRF 23 of lavfi testsrc2 gives 0.988–0.995 at the cut frames, neighbours 0.90–0.94
# a neighbour this close to the match is the same picture (still colour bars: 0.9996 vs 0.9997, an I-frame
# against P-frames); a frame off in moving pictures scores 0.90–0.94 against the right one's 0.99
SAME_PICTURE = 0.005
COMPARE_WIDTH = 640  # frames are compared at most this wide
_ALL = re.compile(r"n:(\d+).*All:([0-9.]+|inf)")


@dataclass(frozen=True)
class CutCheck:
    clip: int
    side: str  # "first" | "last"
    output_frame: int
    ssim: float  # against the expected source frame
    neighbours: tuple[float, ...]  # against the source frames one before / after it

    def to_dict(self) -> dict:
        return {"clip": self.clip, "side": self.side, "outputFrame": self.output_frame, "ssim": round(self.ssim, 4),
                "neighbours": [round(n, 4) for n in self.neighbours]}


@dataclass
class SequenceCheck:
    frames: int
    video_duration: float
    audio_duration: float | None
    cuts: list[CutCheck] = field(default_factory=list)


def frame_ssims(out, out_index: int, src, clip: ClipRange, canvas: SequenceCanvas, first: int, count: int,
                timeout: float = 120) -> list[float]:
    """SSIM of output frame `out_index` against the clip's conformed source frames first..first+count-1."""
    fps = canvas.fps
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    if out_index > 0:
        argv += ["-ss", f"{(out_index - 0.25) / fps:.6f}"]
    argv += ["-i", ff_target(out)]
    if clip.start > 0:
        argv += ["-ss", f"{clip.start:.6f}"]
    argv += ["-i", ff_target(src)]
    small = f"scale={min(canvas.width, COMPARE_WIDTH)}:-2:flags=area"  # both sides alike: cheaper on large frames
    graph = (f"[0:v]trim=end_frame=1,format=yuv420p,{small},loop=loop={count - 1}:size=1:start=0,"
             f"setpts=N/({fps:g}*TB)[o];"
             f"[1:v]{video_filters(canvas)},trim=start_frame={first}:end_frame={first + count},{small},"
             f"setpts=N/({fps:g}*TB)[r];[o][r]ssim=stats_file=-")
    argv += ["-filter_complex", graph, "-an", "-f", "null", "-"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          errors="replace", **limits.probe_spawn_options())
    if proc.returncode != 0:
        raise VerificationError(f"cannot compare output frame {out_index}: {proc.stderr.strip()[-300:]}")
    values = [1.0 if m.group(2) == "inf" else float(m.group(2)) for m in map(_ALL.search, proc.stdout.splitlines()) if m]
    if len(values) != count:
        raise VerificationError(f"output frame {out_index}: compared {len(values)} source frames, expected {count}")
    return values


def check_cut(out, out_index: int, src, clip: ClipRange, canvas: SequenceCanvas, clip_index: int, side: str,
              frame_in_clip: int, frames: int) -> CutCheck:
    """Compare one output frame with source frame `frame_in_clip` of the clip and its neighbours."""
    first = max(0, frame_in_clip - 1)
    last = min(frames - 1, frame_in_clip + 1)
    values = frame_ssims(out, out_index, src, clip, canvas, first, last - first + 1)
    match = values[frame_in_clip - first]
    neighbours = tuple(v for i, v in enumerate(values) if i != frame_in_clip - first)
    check = CutCheck(clip_index, side, out_index, match, neighbours)
    # a neighbour scoring (about) the same is the same picture: repeated by the rate change, or still
    if match < CUT_SSIM or any(n > match + SAME_PICTURE for n in neighbours):
        raise VerificationError(
            f"clip {clip_index + 1}'s {side} frame (output frame {out_index}) is not source frame "
            f"{clip.start + frame_in_clip / canvas.fps:.3f} s: SSIM {match:.4f} (at least {CUT_SSIM} needed), "
            f"its neighbours {', '.join(f'{n:.4f}' for n in neighbours)}")
    return check


def verify_sequence(path, canvas: SequenceCanvas, clips: Sequence[ClipRange], sources: Sequence,
                    *, cuts: bool = True) -> SequenceCheck:
    """Check a rendered sequence against its clips; raise VerificationError saying what is wrong."""
    stats = stream_stats(path)
    counts = [clip_frames(c.start, c.end, canvas.fps) for c in clips]
    total = sum(counts)
    frame = 1.0 / canvas.fps
    if stats.video_frames != total:
        raise VerificationError(f"the sequence has {stats.video_frames} frames; its clips hold {total} "
                                f"({' + '.join(map(str, counts))}) at {canvas.fps:g} fps")
    if abs(stats.video_duration - total * frame) > frame + 1e-6:
        raise VerificationError(f"the sequence's video lasts {stats.video_duration:.3f} s, its clips "
                                f"{total * frame:.3f} s (more than one frame apart)")
    if canvas.audio:
        if stats.audio_duration is None:
            raise VerificationError("the sequence has no audio stream")
        if abs(stats.audio_duration - stats.video_duration) > frame + 1e-6:
            raise VerificationError(f"audio ({stats.audio_duration:.3f} s) and video ({stats.video_duration:.3f} s) "
                                    f"of the sequence differ by more than one frame")
    check = SequenceCheck(stats.video_frames, stats.video_duration, stats.audio_duration)
    if cuts:
        offset = 0
        for index, (clip, src, frames) in enumerate(zip(clips, sources, counts)):
            check.cuts.append(check_cut(path, offset, src, clip, canvas, index, "first", 0, frames))
            if frames > 1:
                check.cuts.append(check_cut(path, offset + frames - 1, src, clip, canvas, index, "last",
                                            frames - 1, frames))
            offset += frames
    return check
