"""Check an output after ffmpeg exited 0: it exists, has the streams the preset promises and the
length the trim asked for (ffmpeg happily writes an empty file for a trim past the end).

Durations may differ by one frame interval + 0.1 s; a stream copy may also start up to
`keyframe_lead` seconds early (it begins at the keyframe before the in point). Image outputs
only have to be a valid picture or animation.
"""
from __future__ import annotations

import os
from pathlib import Path

from .analysis import AnalysisError, measure_loudness
from .command import SILENT_LUFS, Trim, decode_lead, expected_duration, expected_streams, output_fps, output_size
from .presets import PresetSpec
from .probe import MediaInfo, ProbeError, probe, webp_media_info
from .webp import WebPError, finish_webp, is_frame_stream

SLACK_SECONDS = 0.1
LOUDNESS_TOLERANCE_LU = 1.0  # a normalised output's integrated loudness may miss the target by this much
TRUE_PEAK_ROUNDING = 0.05  # ebur128 reports tenths of a dB
AUDIO_FRAME_SECONDS = 0.05  # an AAC/MP3/Opus frame is 20-26 ms; be generous


class VerificationError(Exception):
    """The output is not what the job asked for; str(e) says how."""


def _webp(path: Path, duration: float) -> MediaInfo:
    try:
        if is_frame_stream(path):
            finish_webp(path, duration)
    except WebPError as exc:
        raise VerificationError(f"output is not a valid WebP image: {exc}") from None
    try:
        return webp_media_info(path)
    except ProbeError as exc:
        raise VerificationError(f"output is not a valid WebP image: {exc}") from None


def length_tolerance(spec: PresetSpec, source: MediaInfo) -> float:
    """How far an output's length may stray from the requested one: a frame of the output (an audio
    frame without video), plus SLACK_SECONDS."""
    fps = output_fps(spec, source) if source.video is not None else None
    return (1.0 / fps if fps else AUDIO_FRAME_SECONDS) + SLACK_SECONDS


def verify_output(
    path: str | os.PathLike,
    spec: PresetSpec,
    trim: Trim | None,
    source: MediaInfo,
    keyframe_lead: float = 0.0,
) -> MediaInfo:
    """Probe the output and check it against the request; return its MediaInfo.

    For stream copies pass the distance between the in point and the keyframe before it as
    `keyframe_lead` (0.0 = unknown: then up to `trim.start` extra is accepted).
    """
    path = Path(path)
    if not path.exists():
        raise VerificationError("output file is missing")
    if path.stat().st_size == 0:
        raise VerificationError(f"output is empty (0 bytes) but {expected_duration(trim, source, spec):.2f} s was requested")

    if spec.kind == "image" and spec.container == "webp":
        info = _webp(path, expected_duration(trim, source, spec))
    else:
        try:
            info = probe(path, strict=False)
        except ProbeError as exc:
            raise VerificationError(f"output is not readable media: {exc}") from None

    def check_streams() -> None:
        for kind in sorted(expected_streams(spec, source)):
            if getattr(info, kind) is None:
                raise VerificationError(f"output has no {kind} stream")

    if spec.kind == "image":
        check_streams()
        if info.video is None or info.video.width <= 0:
            raise VerificationError("output is not a valid image")
        if spec.container != "jpg" and info.duration <= 0:
            raise VerificationError("output animation has no frames")
        return info

    expected = expected_duration(trim, source, spec)
    tolerance = length_tolerance(spec, source)
    actual = info.duration or 0.0
    lower = expected - tolerance
    upper = expected + tolerance
    if spec.kind == "copy":
        start = (trim or Trim()).start or 0.0
        upper += keyframe_lead if keyframe_lead and keyframe_lead > 0 else start
        upper += decode_lead(source)  # the out cut is made on decode times: B-frames run over it
    if not lower <= actual <= upper:
        raise VerificationError(f"output is {actual:.2f} s long but {expected:.2f} s was requested")
    check_streams()
    if spec.kind == "video" and info.video is not None:
        want = output_size(spec, source)
        got = (info.video.display_width, info.video.display_height)
        if want and got != want:
            raise VerificationError(f"output picture is {got[0]}x{got[1]} but {want[0]}x{want[1]} was expected")
    check_loudness(path, spec, info, source)
    return info


def video_on_time(info: MediaInfo, spec: PresetSpec, trim: Trim | None, source: MediaInfo) -> bool:
    """Whether a verified stream copy's video covers the requested length by itself.

    `verify_output` checks the file's length, which the audio fills when the video starts a GOP
    late (a copy cut at a time that is not the demuxer's keyframe drops the video up to the next
    one). A copy whose in point came from stored keyframes (`pipeline.single`) must also pass this:
    the video track's own duration at least the requested length less the frame tolerance. True
    without audio (the file's length is the video's); False when the container gives no track
    duration (the caller then finds the keyframe by probing, as without stored keyframes)."""
    if spec.kind != "copy" or source.video is None or source.audio is None or info.audio is None:
        return True
    if info.video is None or not info.video.duration:
        return False
    return info.video.duration >= expected_duration(trim, source, spec) - length_tolerance(spec, source)


def check_loudness(path, spec: PresetSpec, info: MediaInfo, source: MediaInfo | None = None) -> None:
    """For a loudness-normalising preset: measure the output (EBU R128) and require its integrated
    loudness within LOUDNESS_TOLERANCE_LU of the target and its true peak at or under the ceiling.
    Silence (a silent source) has nothing to normalise and passes."""
    if spec.loudness_target is None or info.audio is None:
        return
    try:
        got = measure_loudness(path)
    except AnalysisError as exc:
        raise VerificationError(f"could not measure the output's loudness: {exc}") from None
    if got.integrated <= SILENT_LUFS and (source is None or source.loudness is None
                                          or source.loudness.integrated <= SILENT_LUFS):
        return
    ceiling = spec.true_peak_ceiling if spec.true_peak_ceiling is not None else -1.0
    if abs(got.integrated - spec.loudness_target) > LOUDNESS_TOLERANCE_LU:
        raise VerificationError(f"output loudness is {got.integrated:.1f} LUFS but {spec.loudness_target:g} LUFS "
                                f"(± {LOUDNESS_TOLERANCE_LU:g} LU) was requested")
    if got.true_peak > ceiling + TRUE_PEAK_ROUNDING:
        raise VerificationError(f"output true peak is {got.true_peak:.1f} dBTP, over the {ceiling:g} dBTP ceiling")
