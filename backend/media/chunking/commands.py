"""The ffmpeg commands of a chunked job: one video chunk (the job's own command from
`command.build_command`, video only, bounded to the chunk's frames, starting at timestamp 0,
with x264 headers that stitch), the audio encoded once, and the join by stream copy.

Every chunk gets the same encoder settings; each is a fresh encoder, so it starts with an IDR
frame, and GOPs are closed (`+cgop` / x265 `open-gop=0`): nothing references across a join.
x264 gets `stitchable=1` so all chunks carry identical SPS/PPS (the concat copy keeps only the
first chunk's). `setpts=PTS-STARTPTS` starts every chunk at 0 so the concat is seamless.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Sequence

from ..binaries import ffmpeg_path
from ..command import GLOBAL_ARGS, Trim, _container_args, build_command
from ..paths import ff_target
from ..presets import PresetSpec
from ..probe import MediaInfo

# The plan's parts ("Chunk", "AudioJob", "JoinStep" from .plan) are named in annotations only:
# .plan imports this module for ChunkPlan's command methods, so this one does not import it back.


def _video_only(spec: PresetSpec) -> PresetSpec:
    return replace(spec, audio_codec="", audio_bitrate=None, channels=None, sample_rate=None)


def chunk_command(spec: PresetSpec, info: MediaInfo, chunk: "Chunk", src, dst) -> list[str]:
    """ffmpeg argv encoding one chunk to `dst`: the job's own command (video only), bounded to
    the chunk's frames, starting at timestamp 0, with x264 headers that stitch."""
    options: dict[str, object] = {"frames:v": chunk.frames, "t": f"{chunk.length:.6f}"}
    if spec.video_codec == "libx264":
        options["x264-params"] = "stitchable=1"
    return build_command(src, dst, _video_only(spec), Trim(chunk.start, chunk.end), info,
                         output_options=options, leading_filters=("setpts=PTS-STARTPTS",))


def audio_command(audio: "AudioJob", info: MediaInfo, src, dst) -> list[str]:
    """ffmpeg argv encoding the whole range's audio once (no video) to `dst`."""
    return build_command(src, dst, PresetSpec.from_dict(audio.spec), Trim(audio.start, audio.end), info)


def concat_list(paths: Sequence[str | Path]) -> str:
    """The concat demuxer's list file for `paths` (made absolute, in order)."""
    lines = ["ffconcat version 1.0"]
    for p in paths:
        text = str(Path(p).absolute()).replace("'", "'\\''")
        lines.append(f"file '{text}'")
    return "\n".join(lines) + "\n"


def join_command(join: "JoinStep", concat_file, dst, audio=None) -> list[str]:
    """ffmpeg argv joining the chunks listed in `concat_file` (and the audio) by stream copy."""
    argv = [ffmpeg_path(), "-f", "concat", "-safe", "0", "-i", ff_target(concat_file)]
    if audio is not None:
        argv += ["-i", ff_target(audio)]
    argv += ["-map", "0:v:0"]
    if audio is not None:
        argv += ["-map", "1:a:0"]
    argv += ["-c", "copy", "-map_chapters", "-1", "-dn", "-sn"]
    for key, value in _container_args(join.container).items():
        argv += ["-f" if key == "format" else f"-{key}", str(value)]
    argv += [ff_target(Path(dst)), *GLOBAL_ARGS, "-y"]
    return argv
