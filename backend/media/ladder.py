"""An adaptive-bitrate ladder as ONE FFmpeg command: the source is decoded once, `split` feeds a
scaler + H.264 encoder per rendition (and a storyboard tiler), and FFmpeg's DASH muxer cuts every
rendition into CMAF (fragmented MP4) segments of the same length, writing `manifest.mpd` and the
HLS media playlists (`media_<n>.m3u8`) over the same segment files.

The storyboard branch writes one small JPEG per `interval` (`thumb-%05d.jpg`), which
`backend.media.packaging` tiles into sprite sheets with Pillow: a sparse output (one tiled sheet
per 25 thumbnails) would hold FFmpeg's `-progress` out_time at N/A until its first sheet, and the
job would look stalled.

Keyframes are forced at the same instants in every rendition (`-force_key_frames
expr:gte(t,n_forced*SEG)`, `-sc_threshold 0`, GOP = one segment), so each segment of each
rendition starts with a keyframe at the same time and players can switch at any boundary.
The scaler keeps each rung's display aspect through its sample aspect ratio (426x240 of a 16:9
source gets SAR 640:639), which the DASH muxer requires of one adaptation set.
`fit_ladder` drops rungs above the source's size (never upscaled) and says why. Pure: builds
argv and layouts; `backend.media.packaging` measures the result and writes `master.m3u8`.

The AWS path encodes each rung alone (`rendition_command`), a long video rung in `RenditionPart`s
of whole segments that join by stream copy (`join_parts_command`, the chunked jobs' join) into the
frames and keyframe instants of the one-rung command; `package_command` then segments them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from .binaries import ffmpeg_path
from .chunking import JoinStep, join_command
from .command import GLOBAL_ARGS, Trim, output_fps, output_size, resolve_trim
from .paths import ff_target
from .presets import PresetSpec
from .probe import MediaInfo
from .templates import TemplateSpec

MANIFEST = "manifest.mpd"
MASTER = "master.m3u8"
STORYBOARD_VTT = "storyboard.vtt"
STORYBOARD_PATTERN = "storyboard-%03d.jpg"  # the sprite sheets
THUMB_PATTERN = "thumb-%05d.jpg"  # FFmpeg's single thumbnails, tiled into sheets afterwards
STORYBOARD_WIDTH = 160
STORYBOARD_GRID = (5, 5)  # columns, rows per sprite sheet
INIT_NAME = "init-$RepresentationID$.m4s"
SEGMENT_NAME = "seg-$RepresentationID$-$Number%05d$.m4s"


@dataclass(frozen=True)
class Rung:
    """One rendition that will be encoded: representation `index` in the manifest."""

    index: int
    preset: PresetSpec
    kind: str  # video | audio
    width: int | None = None
    height: int | None = None
    fps: float | None = None

    @property
    def name(self) -> str:
        return self.preset.name

    @property
    def playlist(self) -> str:
        return f"media_{self.index}.m3u8"

    def to_dict(self) -> dict:
        return {"index": self.index, "preset": self.preset.to_dict(), "kind": self.kind,
                "width": self.width, "height": self.height, "fps": self.fps}

    @classmethod
    def from_dict(cls, data: dict) -> "Rung":
        return cls(index=int(data["index"]), preset=PresetSpec.from_dict(data["preset"]), kind=str(data["kind"]),
                   width=data.get("width"), height=data.get("height"), fps=data.get("fps"))


@dataclass(frozen=True)
class Storyboard:
    interval: float
    width: int
    height: int
    columns: int = STORYBOARD_GRID[0]
    rows: int = STORYBOARD_GRID[1]

    def thumbnails(self, length: float) -> int:
        """How many thumbnails `fps=1/interval` makes over `length` seconds (one at 0 s, then every interval)."""
        return max(1, math.ceil(length / self.interval - 1e-6))

    def sheets(self, length: float) -> int:
        return math.ceil(self.thumbnails(length) / (self.columns * self.rows))


@dataclass(frozen=True)
class Ladder:
    """What the package will hold: video rungs, the audio rungs (the shared AAC track of a video
    ladder, or the audio-only renditions), the storyboard, and the rungs skipped with why."""

    video: tuple[Rung, ...]
    audio: tuple[Rung, ...]
    storyboard: Storyboard | None
    skipped: tuple[tuple[str, str], ...]  # (rendition name, why)
    segment_seconds: float
    packaging: str
    start: float
    length: float

    @property
    def rungs(self) -> tuple[Rung, ...]:
        return self.video + self.audio

    @property
    def packaged(self) -> bool:
        return bool(self.rungs)

    def summary(self) -> dict:
        return {"renditions": [r.name for r in self.rungs], "skipped": [f"{n}: {why}" for n, why in self.skipped],
                "segment_seconds": self.segment_seconds, "packaging": self.packaging}

    def to_dict(self) -> dict:
        """The fitted ladder as JSON-ready data (the AWS executor fits once; every Lambda reads this)."""
        sb = self.storyboard
        return {"video": [r.to_dict() for r in self.video], "audio": [r.to_dict() for r in self.audio],
                "storyboard": None if sb is None else {"interval": sb.interval, "width": sb.width,
                                                       "height": sb.height, "columns": sb.columns, "rows": sb.rows},
                "skipped": [list(s) for s in self.skipped], "segment_seconds": self.segment_seconds,
                "packaging": self.packaging, "start": self.start, "length": self.length}

    @classmethod
    def from_dict(cls, data: dict) -> "Ladder":
        """Raises KeyError, TypeError or ValueError on data `to_dict` did not make."""
        sb = data.get("storyboard")
        return cls(video=tuple(Rung.from_dict(r) for r in data["video"]),
                   audio=tuple(Rung.from_dict(r) for r in data["audio"]),
                   storyboard=None if sb is None else Storyboard(**sb),
                   skipped=tuple((str(n), str(why)) for n, why in data.get("skipped") or ()),
                   segment_seconds=float(data["segment_seconds"]), packaging=str(data["packaging"]),
                   start=float(data["start"]), length=float(data["length"]))


def _storyboard(template: TemplateSpec, info: MediaInfo) -> Storyboard | None:
    interval = template.storyboard_interval
    if interval is None or info.video is None:
        return None
    thumb = PresetSpec("storyboard", "image", "jpg", max_width=STORYBOARD_WIDTH, max_height=STORYBOARD_WIDTH)
    width, height = output_size(thumb, info)
    return Storyboard(interval=interval, width=width, height=height)


def fit_ladder(template: TemplateSpec, info: MediaInfo, trim: Trim | None = None) -> Ladder:
    """The rungs of `template` this source gets: a rendition taller than the source is skipped
    (not upscaled), as is one that would come out the same size as a bigger rung."""
    start, end = resolve_trim(trim, info)
    video: list[Rung] = []
    audio: list[Rung] = []
    skipped: list[tuple[str, str]] = []
    renditions = template.renditions
    sizes: set[tuple[int, int]] = set()
    if renditions and renditions[0].kind == "video":
        if info.video is None:
            raise ValueError("this source has no video stream; choose an audio-only template")
        source_height = info.video.display_height
        for preset in sorted(renditions, key=lambda p: -(p.max_height or 0)):
            if preset.max_height and preset.max_height > source_height:
                skipped.append((preset.name, f"the source is {source_height} px high; renditions are not upscaled"))
                continue
            width, height = output_size(preset, info)
            if (width, height) in sizes:
                skipped.append((preset.name, f"same size ({width}x{height}) as a bigger rendition"))
                continue
            sizes.add((width, height))
            video.append(Rung(len(video), preset, "video", width, height, output_fps(preset, info)))
        if info.audio is not None:
            best = max(renditions, key=lambda p: p.audio_bitrate or 0)
            if best.audio_codec:
                track = PresetSpec(f"audio {best.audio_bitrate or 128}k", "audio", "m4a", audio_codec="aac",
                                   audio_bitrate=best.audio_bitrate or 128, channels=best.channels or 2,
                                   sample_rate=best.sample_rate)
                audio.append(Rung(len(video), track, "audio"))
    elif renditions:
        if info.audio is None:
            raise ValueError("this source has no audio stream; an audio-only template needs one")
        for preset in sorted(renditions, key=lambda p: p.audio_bitrate or 0):
            audio.append(Rung(len(audio), preset, "audio"))
    return Ladder(tuple(video), tuple(audio), _storyboard(template, info), tuple(skipped),
                  template.segment_seconds, template.packaging, start, end - start)


def _fps_text(fps: float) -> str:
    return f"{fps:.6f}".rstrip("0").rstrip(".")


def _input_args(src, ladder: Ladder, part: "RenditionPart | None" = None) -> list[str]:
    start, length = (ladder.start, ladder.length) if part is None else (part.seek, part.length)
    argv = [ffmpeg_path(), *GLOBAL_ARGS, "-y"]
    if start > 0:
        argv += ["-ss", f"{start:.6f}"]
    return argv + ["-t", f"{length:.6f}", "-i", ff_target(src)]


def _scale(rung: Rung) -> str:
    fps = f",fps={_fps_text(rung.fps)}" if rung.fps and rung.preset.fps else ""
    return f"scale={rung.width}:{rung.height}{fps},format=yuv420p"


def _video_args(n: int, rung: Rung, seg: float, preset_speed: str | None, key_offset: float = 0.0) -> list[str]:
    """Output video stream `n`'s encoder: H.264 at the rung's rate, a keyframe every segment.
    FFmpeg counts `t` from the first frame; `key_offset` > 0 (a part, `RenditionPart.offset`) moves
    the grid that much earlier, so a part keeps the whole rendition's keyframe instants."""
    p = rung.preset
    gop = max(1, round((rung.fps or 30.0) * seg))
    shift = f"-{key_offset:.6f}" if key_offset > 0 else ""
    return [f"-c:v:{n}", "libx264", f"-preset:v:{n}", preset_speed or p.speed_preset or "veryfast",
            f"-b:v:{n}", f"{p.video_bitrate}k", f"-maxrate:v:{n}", f"{round(p.video_bitrate * 1.1)}k",
            f"-bufsize:v:{n}", f"{p.video_bitrate * 2}k", f"-g:v:{n}", str(gop),
            f"-keyint_min:v:{n}", str(gop), f"-force_key_frames:v:{n}", f"expr:gte(t,n_forced*{seg:g}{shift})"]


def _audio_args(n: int, rung: Rung) -> list[str]:
    p = rung.preset
    argv = [f"-c:a:{n}", "aac", f"-b:a:{n}", f"{p.audio_bitrate}k", f"-ac:a:{n}", str(p.channels or 2)]
    if p.sample_rate:
        argv += [f"-ar:a:{n}", str(p.sample_rate)]
    return argv


def _dash_args(outdir: Path, ladder: Ladder) -> list[str]:
    """FFmpeg's DASH muxer over every mapped rung: CMAF segments, manifest.mpd and the HLS media playlists."""
    sets = []
    if ladder.video:
        sets.append("id=0,streams=v")
    if ladder.audio:
        sets.append(f"id={len(sets)},streams=a")
    return ["-f", "dash", "-seg_duration", f"{ladder.segment_seconds:g}", "-use_template", "1",
            "-use_timeline", "1", "-hls_playlist", "1", "-hls_master_name", MASTER,
            "-adaptation_sets", " ".join(sets), "-init_seg_name", INIT_NAME, "-media_seg_name", SEGMENT_NAME,
            "-write_prft", "0", ff_target(Path(outdir) / MANIFEST)]


def ladder_command(src, outdir: Path, ladder: Ladder, *, preset_speed: str | None = None,
                   with_storyboard: bool = True) -> list[str]:
    """One FFmpeg argv that writes the whole package (and the storyboard sheets) into `outdir`."""
    seg = ladder.segment_seconds
    argv = _input_args(src, ladder)
    storyboard = ladder.storyboard if with_storyboard else None
    branches = len(ladder.video) + (1 if storyboard else 0)
    graph: list[str] = []
    if branches:
        labels = "".join(f"[s{i}]" for i in range(branches))
        graph.append(f"[0:v:0]split={branches}{labels}" if branches > 1 else "[0:v:0]null[s0]")
        for rung in ladder.video:
            graph.append(f"[s{rung.index}]{_scale(rung)}[v{rung.index}]")
        if storyboard:
            graph.append(f"[s{len(ladder.video)}]fps=1/{storyboard.interval:g},"
                         f"scale={storyboard.width}:{storyboard.height},setsar=1[sb]")
        argv += ["-filter_complex", ";".join(graph)]
    if ladder.rungs:
        for rung in ladder.video:
            argv += ["-map", f"[v{rung.index}]"]
        for _ in ladder.audio:
            argv += ["-map", "0:a:0"]
        for n, rung in enumerate(ladder.video):
            argv += _video_args(n, rung, seg, preset_speed)
        if ladder.video:
            argv += ["-sc_threshold", "0", "-pix_fmt", "yuv420p"]
        for n, rung in enumerate(ladder.audio):
            argv += _audio_args(n, rung)
        argv += _dash_args(outdir, ladder)
    if storyboard:
        argv += ["-map", "[sb]", "-c:v", "mjpeg", "-q:v", "5", "-f", "image2",
                 ff_target(Path(outdir) / THUMB_PATTERN)]
    return argv


@dataclass(frozen=True)
class RenditionPart:
    """Frames `first`..`first + frames - 1` of a video rendition (numbered from the trim's first
    frame): FFmpeg reads the source from `seek` (seconds from the container start; half a frame
    before the part's first frame, the in point for the first part) for `length` seconds counted,
    as FFmpeg counts an input `-t`, from the first frame it keeps (to half a frame after the part's
    last frame, the whole rendition's end for the last part), so no rounding moves a frame across a
    cut. `offset`: how far its first frame lies after the segment instant it starts (less than a
    frame; 0 when segments hold whole frames), which keeps the keyframe grid the whole rendition's."""

    part: int
    parts: int
    first: int
    frames: int
    seek: float
    length: float
    offset: float = 0.0

    @property
    def last(self) -> bool:
        return self.part == self.parts - 1


def rendition_command(src, dst: Path, ladder: Ladder, rung: Rung, *, preset_speed: str | None = None,
                      part: RenditionPart | None = None) -> list[str]:
    """One rung alone, encoded exactly as `ladder_command` encodes it (same scaler, encoder and
    keyframe instants), into a plain MP4 `dst` that `package_command` segments later. The AWS
    executor runs one of these per Map iteration (a Lambda each) instead of the one-decode command.

    With `part` (a video rung only), only that part's frames, starting at timestamp 0, with x264
    headers that stitch (`stitchable=1`, as chunks get): the parts of a rung join by stream copy
    (`join_parts_command`) into the frames, keyframes and timestamps of the whole rendition."""
    argv = _input_args(src, ladder, part)
    if rung.kind == "video":
        lead = "setpts=PTS-STARTPTS," if part is not None else ""
        argv += ["-filter_complex", f"[0:v:0]{lead}{_scale(rung)}[v]", "-map", "[v]", "-an",
                 *_video_args(0, rung, ladder.segment_seconds, preset_speed, part.offset if part else 0.0),
                 "-sc_threshold", "0", "-pix_fmt", "yuv420p"]
        if part is not None:
            argv += ["-x264-params", "stitchable=1"]
    elif part is not None:
        raise ValueError("audio renditions are encoded whole (one AAC track, no joins)")
    else:
        argv += ["-map", "0:a:0", "-vn", *_audio_args(0, rung)]
    return argv + ["-f", "mp4", ff_target(dst)]


def join_parts_command(concat_file, dst: Path, frames: int, seconds: float, fps: float) -> list[str]:
    """The parts of one rendition (listed in `concat_file`, `chunking.concat_list`) joined by
    stream copy into a plain MP4 `dst`: the chunked jobs' join (`chunking.join_command`), video only."""
    return join_command(JoinStep("mp4", ".mp4", frames, seconds, fps, False), concat_file, dst, frames=frames)


def package_command(renditions: list[tuple[Rung, Path]], outdir: Path, ladder: Ladder) -> list[str]:
    """The package from rungs already encoded (`rendition_command`), by stream copy: the same DASH
    muxer settings as `ladder_command`, so the same segments, manifest and playlists."""
    by_index = {rung.index: path for rung, path in renditions}
    missing = [r.name for r in ladder.rungs if r.index not in by_index]
    if missing:
        raise ValueError(f"renditions not encoded: {', '.join(missing)}")
    argv = [ffmpeg_path(), *GLOBAL_ARGS, "-y"]
    for rung in ladder.rungs:
        argv += ["-i", ff_target(by_index[rung.index])]
    for n, rung in enumerate(ladder.rungs):
        argv += ["-map", f"{n}:{'v' if rung.kind == 'video' else 'a'}:0"]
    return argv + ["-c", "copy", *_dash_args(outdir, ladder)]


def storyboard_command(src, outdir: Path, ladder: Ladder) -> list[str]:
    """The storyboard sheets alone (a template with files but no renditions)."""
    alone = Ladder((), (), ladder.storyboard, (), ladder.segment_seconds, ladder.packaging, ladder.start, ladder.length)
    return ladder_command(src, outdir, alone)
