"""A sequence of clips (ranges of one or more sources laid end to end) → FFmpeg commands.

Every clip is conformed to one *canvas* (`SequenceCanvas`): the output size, frame rate, sample
rate and channel count, so the clips join by stream copy (`chunking.join_command`) into a uniform
file. A clip's video is its own FFmpeg (the preset's encoder, `setpts` to 0, `fps`, `scale` + `pad`
keeping the aspect, `setsar=1`, `format`, one BT.709 colour description for all), bounded to exactly `frames` frames: the clips encode in
parallel. The audio of the whole sequence is ONE FFmpeg (`audio_command`): each clip's audio (or
`anullsrc` silence for a source without audio) resampled, padded and cut to exactly the samples
of its video (round(frames / fps * rate)), then concatenated and encoded once, so no encoder
priming or padding sits at a cut (no gap, no click) and audio and video end together.

The canvas: the largest size any clip would get from the preset alone (`command.output_size`),
the preset's frame rate (else the highest source rate), the preset's sample rate (else 48 kHz)
and channels (else 2). Smaller clips are scaled up to fit and padded (letter/pillar box).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from .binaries import ffmpeg_path
from .command import GLOBAL_ARGS, CommandError, _audio_codec_args, _container_args, _video_codec_args, output_size
from .paths import ff_target
from .presets import PresetSpec
from .probe import MediaInfo

DEFAULT_SAMPLE_RATE = 48000
DEFAULT_CHANNELS = 2
AUDIO_EXT = {"aac": ".m4a", "libmp3lame": ".mp3", "libopus": ".mka", "flac": ".mka", "pcm_s16le": ".mka"}
LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}


class SequenceError(CommandError):
    """The sequence cannot be rendered as asked; the message says which clip and why."""


@dataclass(frozen=True)
class SequenceCanvas:
    width: int
    height: int
    fps: float
    sample_rate: int
    channels: int
    audio: bool  # whether the output has an audio stream

    @property
    def layout(self) -> str:
        return LAYOUTS.get(self.channels, f"{self.channels}c")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SequenceCanvas":
        return cls(width=int(data["width"]), height=int(data["height"]), fps=float(data["fps"]),
                   sample_rate=int(data["sample_rate"]), channels=int(data["channels"]), audio=bool(data["audio"]))


@dataclass(frozen=True)
class ClipRange:
    """One clip: `start`..`end` seconds of a source described by `info`."""

    start: float
    end: float
    info: MediaInfo


def canvas_for(spec: PresetSpec, infos: Sequence[MediaInfo]) -> SequenceCanvas:
    """The one size, rate and audio format every clip of the sequence is conformed to."""
    if spec.kind != "video" or not spec.video_codec:
        raise SequenceError(f"a sequence renders with a video preset; {spec.name!r} is a {spec.kind} preset")
    sizes = [output_size(spec, i) for i in infos if i.video is not None]
    if not sizes:
        raise SequenceError("no clip of the sequence has video")
    width = max(s[0] for s in sizes)
    height = max(s[1] for s in sizes)
    fps = float(spec.fps) if spec.fps else max(i.video.fps for i in infos if i.video is not None)
    audio = bool(spec.audio_codec) and any(i.audio is not None for i in infos)
    return SequenceCanvas(width=width, height=height, fps=round(fps, 6),
                          sample_rate=int(spec.sample_rate or DEFAULT_SAMPLE_RATE),
                          channels=int(spec.channels or DEFAULT_CHANNELS), audio=audio)


def clip_frames(start: float, end: float, fps: float) -> int:
    """Frames a clip contributes at the output rate: round((end - start) * fps), at least one."""
    return max(1, round((end - start) * fps))


def clip_samples(frames: int, canvas: SequenceCanvas) -> int:
    """Audio samples a clip contributes: exactly the length of its video."""
    return round(frames * canvas.sample_rate / canvas.fps)


def video_filters(canvas: SequenceCanvas, part: tuple[int, int] | None = None) -> str:
    """The conform chain: timestamps from 0, output rate, fit inside the canvas keeping the display
    aspect (rotation is applied by FFmpeg's autorotate before this), pad centred, square pixels.
    `part` = (first, frames): only the clip's output frames first..first+frames-1, picked after the
    rate change (so they are exactly the frames the whole clip's encode would hold there)."""
    w, h = canvas.width, canvas.height
    pick = "" if part is None else (f"trim=start_frame={part[0]}:end_frame={part[0] + part[1]},"
                                    f"setpts=PTS-STARTPTS,")
    return (f"setpts=PTS-STARTPTS,fps={canvas.fps:g},{pick}"
            f"scale={w}:{h}:force_original_aspect_ratio=decrease:flags=bicubic:out_color_matrix=bt709:out_range=tv,"
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,format=yuv420p,"
            f"setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv")


# Every clip is written with the same colour description: sources tagged differently (or not at
# all) would otherwise give clips whose headers differ, and a decoder of the joined file switches
# colour conversion mid-stream (frames around the cut decoded with the next clip's description).
COLOR_ARGS = {"color_primaries": "bt709", "color_trc": "bt709", "colorspace": "bt709", "color_range": "tv"}


def clip_command(spec: PresetSpec, canvas: SequenceCanvas, clip: ClipRange, src, dst,
                 part: tuple[int, int] | None = None) -> list[str]:
    """ffmpeg argv encoding one clip's video (no audio) to `dst`: exactly clip_frames frames, or
    with `part` = (first, frames) only that many of them from output frame `first` on (a long
    clip cut into parts that encode in parallel and join by stream copy like whole clips; each
    part reads the clip from its in point and drops the frames before its own)."""
    if clip.info.video is None:
        raise SequenceError("the clip's source has no video stream")
    frames = clip_frames(clip.start, clip.end, canvas.fps)
    if part is not None:
        first, count = int(part[0]), int(part[1])
        if first < 0 or count < 1 or first + count > frames:
            raise SequenceError(f"part {first}+{count} is outside the clip's {frames} frames")
        frames = count
    argv = [ffmpeg_path()]
    if clip.start > 0:
        argv += ["-ss", f"{clip.start:.6f}"]
    argv += ["-i", ff_target(src), "-map", "0:v:0", "-vf", video_filters(canvas, part)]
    options = {**_video_codec_args(spec, canvas.fps), **COLOR_ARGS}
    if spec.video_codec == "libx264":
        options["x264-params"] = "stitchable=1"  # identical headers in every clip: the concat copy keeps one
    for key, value in options.items():
        argv += [f"-{key}", str(value)]
    # half a frame of slack so rounding never drops the last frame; -frames:v makes the count exact
    argv += ["-frames:v", str(frames), "-t", f"{frames / canvas.fps + 0.5 / canvas.fps:.6f}",
             "-an", "-sn", "-dn", "-map_chapters", "-1"]
    for key, value in _container_args(spec.container).items():  # the job's own container, as chunks are
        argv += ["-f" if key == "format" else f"-{key}", str(value)]
    return argv + [ff_target(Path(dst)), *GLOBAL_ARGS, "-y"]


def clip_ext(spec: PresetSpec) -> str:
    return "." + spec.container


def audio_ext(spec: PresetSpec) -> str:
    return AUDIO_EXT.get(spec.audio_codec, ".mka")


def audio_command(spec: PresetSpec, canvas: SequenceCanvas, clips: Sequence[ClipRange], sources: Sequence, dst) -> list[str]:
    """ffmpeg argv writing the whole sequence's audio once to `dst`: each clip's audio (silence when
    its source has none) cut to exactly the samples of its video, concatenated, encoded."""
    if not canvas.audio:
        raise SequenceError("this sequence renders without audio")
    argv = [ffmpeg_path()]
    chains = []
    for index, (clip, src) in enumerate(zip(clips, sources)):
        frames = clip_frames(clip.start, clip.end, canvas.fps)
        samples = clip_samples(frames, canvas)
        length = samples / canvas.sample_rate
        if clip.info.audio is not None:
            if clip.start > 0:
                argv += ["-ss", f"{clip.start:.6f}"]
            argv += ["-t", f"{length + 0.1:.6f}", "-i", ff_target(src)]
            pick = f"[{index}:a:0]"
        else:
            argv += ["-f", "lavfi", "-t", f"{length + 0.1:.6f}", "-i",
                     f"anullsrc=r={canvas.sample_rate}:cl={canvas.layout}"]
            pick = f"[{index}:a:0]"
        chains.append(
            f"{pick}aresample={canvas.sample_rate},aformat=sample_fmts=fltp:channel_layouts={canvas.layout},"
            f"asetpts=PTS-STARTPTS,apad,atrim=end_sample={samples},asetpts=N/SR/TB[a{index}]")
    joined = "".join(f"[a{i}]" for i in range(len(clips)))
    graph = ";".join(chains) + f";{joined}concat=n={len(clips)}:v=0:a=1[aout]"
    argv += ["-filter_complex", graph, "-map", "[aout]"]
    for key, value in _audio_codec_args(spec).items():
        argv += [f"-{key}", str(value)]
    argv += ["-ar", str(canvas.sample_rate), "-ac", str(canvas.channels), "-vn", "-sn", "-dn",
             ff_target(Path(dst)), *GLOBAL_ARGS, "-y"]
    return argv
