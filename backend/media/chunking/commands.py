"""The ffmpeg commands of a chunked job: one video chunk (the job's own command from
`command.build_command`, video only, bounded to the chunk's frames, starting at timestamp 0,
with x264 headers that stitch), one audio part (a segment of the range with its pre-roll, as
ADTS; the whole range; or the source's track copied) and the join: one stream copy, chunks and
audio together, written once — MP4/MOV reserve the index's room at the front (`-moov_size`)
instead of `+faststart`'s second pass over the whole file.

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
from ..command import FASTSTART_CONTAINERS, GLOBAL_ARGS, Trim, _container_args, build_command
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


def audio_command(audio: "AudioJob", info: MediaInfo, src, dst, part: "AudioPart | None" = None) -> list[str]:
    """ffmpeg argv making one audio part (no video) in `dst`: the source's track copied ("copy"),
    the whole range encoded ("whole"), or one segment with its pre-roll, as ADTS ("segments")."""
    spec = PresetSpec.from_dict(audio.spec)
    if audio.mode == "copy":
        return [ffmpeg_path(), "-i", ff_target(src), "-map", "0:a:0", "-vn", "-sn", "-dn", "-c:a", "copy",
                "-map_chapters", "-1", "-f", "ipod", ff_target(Path(dst)), *GLOBAL_ARGS, "-y"]
    if audio.mode != "segments" or part is None:
        return build_command(src, dst, spec, Trim(audio.start, audio.end), info)
    rate = audio.sample_rate
    start = audio.start + part.offset / rate
    return build_command(src, dst, replace(spec, container="aac"),
                         Trim(start, start + part.samples / rate), info)


def concat_list(paths: Sequence[str | Path]) -> str:
    """The concat demuxer's list file for `paths` (made absolute, in order)."""
    lines = ["ffconcat version 1.0"]
    for p in paths:
        text = str(Path(p).absolute()).replace("'", "'\\''")
        lines.append(f"file '{text}'")
    return "\n".join(lines) + "\n"


def setts_filter(samples: int, packets: int) -> str:
    """The `setts` bitstream filter giving the joined packets a whole encode's timestamps: packet n
    at (n-1)*1024 samples (the priming packet at -1024, which MP4 hides with an edit list) and the
    last one only as long as the range still runs, so the track holds exactly `samples`."""
    last = samples - (packets - 2) * 1024
    unit = "/(SR*TB)"
    ts = f"(N-1)*1024{unit}"
    return (f"setts=pts={ts}:dts={ts}:"
            f"duration=if(eq(N\\,{packets - 1})\\,{last}{unit}\\,1024{unit})")


def moov_room(frames: int, seconds: float, audio_packets: int = 0) -> int:
    """Bytes to reserve at the front of an MP4/MOV for its index (`-moov_size`), a worst case:
    44 bytes per video frame and 36 per audio packet (every table entry unmerged, one chunk per
    sample), plus 64 KiB of headers. ~11 MB for an hour of 1080p30 with AAC: 0.4 % of its size."""
    packets = max(audio_packets, int(seconds * 100) + 2)  # AAC at 48 kHz writes 47 a second, Opus 50
    return frames * 44 + packets * 36 + 65536


def join_command(join: "JoinStep", concat_file, dst, audio=None, audio_job: "AudioJob | None" = None,
                 frames: int | None = None) -> list[str]:
    """ffmpeg argv joining the chunks listed in `concat_file` (and the audio) by stream copy, in
    one pass. Segmented audio (`audio` is the parts' kept packets as ADTS, `join_adts`) gets a
    whole encode's timestamps on the way (`setts_filter`)."""
    argv = [ffmpeg_path(), "-f", "concat", "-safe", "0", "-i", ff_target(concat_file)]
    if audio is not None:
        argv += ["-i", ff_target(audio)]
    argv += ["-map", "0:v:0"]
    if audio is not None:
        argv += ["-map", "1:a:0"]
    argv += ["-c", "copy", "-map_chapters", "-1", "-dn", "-sn"]
    if audio is not None and audio_job is not None and audio_job.mode == "segments":
        argv += ["-bsf:a", setts_filter(audio_job.samples, audio_job.packets)]
    for key, value in _container_args(join.container).items():
        if key == "movflags":
            continue  # +faststart would rewrite the whole file; -moov_size below writes it in place
        argv += ["-f" if key == "format" else f"-{key}", str(value)]
    if join.container in FASTSTART_CONTAINERS:
        packets = audio_job.packets if audio_job is not None else 0
        argv += ["-moov_size", str(moov_room(frames or join.frames, join.duration, packets))]
    argv += [ff_target(Path(dst)), *GLOBAL_ARGS, "-y"]
    return argv
