"""Poster and filmstrip pictures for the catalog and the timeline, without decoding whole files.

Poster: one JPEG ~320 px wide at 10 % of the duration (or `at`). Filmstrip: one horizontal JPEG
sprite of N tiles in ONE ffmpeg run: each tile is its own input opened with `-ss` (input
seeking: only the GOP around that instant is decoded), the tiles are joined with `hstack`.

`make_thumbnails` (what ingest uses) picks the cheaper of two ways from the source's keyframes:
seeking, where a tile may show the keyframe just before its instant (decoding one frame, not a
GOP) when that keyframe is closer than half a tile's span; or one decoding pass over a short file.
"""
from __future__ import annotations

import contextlib
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from . import limits
from .binaries import ffmpeg_path
from .command import GLOBAL_ARGS
from .paths import ff_target, is_url
from .probe import MediaInfo, ProbeError, keyframes_before
from .runner import FFmpegError, run_ffmpeg
from .webp import WebPError, webp_to_frames

POSTER_WIDTH = 320
MAX_TILES = 60


class ThumbnailError(Exception):
    """No picture can be made (e.g. an audio-only source)."""


@dataclass(frozen=True)
class FilmstripInfo:
    frames: int
    tile_width: int
    tile_height: int

    @property
    def width(self) -> int:
        return self.frames * self.tile_width


def _tile_size(info: MediaInfo, width: int) -> tuple[int, int]:
    if info.video is None:
        raise ThumbnailError("the source has no video stream")
    dw, dh = info.video.display_width, info.video.display_height
    w = min(width, dw)
    w -= w % 2
    h = max(2, math.floor(dh * w / dw / 2 + 0.5) * 2)
    return max(2, w), h


@contextlib.contextmanager
def _decodable(src, info: MediaInfo):
    """(input, ffmpeg input options): `src` as it is, or for an animated WebP (no decoder in
    ffmpeg) its frames as a temporary PPM stream read at the animation's frame rate."""
    if info.video is None or info.video.codec != "webp":
        yield ff_target(src), {}
        return
    if is_url(src):
        raise ThumbnailError("pictures of a remote WebP are not supported")
    with tempfile.TemporaryDirectory(prefix="mpr-webp-") as tmp:
        frames = Path(tmp) / "frames.ppm"
        try:
            rate = webp_to_frames(src, frames)
        except WebPError as exc:
            raise ThumbnailError(f"cannot read WebP frames: {exc}") from None
        yield ff_target(frames), {"f": "image2pipe", "c:v": "ppm", "framerate": f"{rate:.6f}"}


def _safe_time(info: MediaInfo, t: float) -> float:
    """A seek target that still has a frame after it."""
    if info.duration <= 0:
        return 0.0
    frame = 1.0 / info.video.fps if info.video and info.video.fps else 0.04
    return max(0.0, min(t, info.duration - 2 * frame - 0.05))


async def make_poster(src, dst_jpg, info: MediaInfo, at: float | None = None, *,
                      width: int = POSTER_WIDTH, keyframe: float | None = None) -> Path:
    """Write a JPEG of the frame at `at` seconds (default 10 % of the duration) to `dst_jpg`;
    with `keyframe`, of that keyframe instead (decoded alone)."""
    dst = Path(dst_jpg)
    dst.parent.mkdir(parents=True, exist_ok=True)
    w, h = _tile_size(info, width)
    t = _safe_time(info, info.duration * 0.1 if at is None else at)
    with _decodable(src, info) as (source, opts):
        return await _poster(source, dst, w, h, t, keyframe, opts)


def _seek_opts(t: float, keyframe: float | None = None) -> dict:
    """Input options for the frame at `t`, or for the keyframe at `keyframe` decoded alone."""
    if keyframe is not None:
        opts = {"skip_frame": "nokey", "noaccurate_seek": None}
        return {**opts, "ss": f"{keyframe:.6f}"} if keyframe > 0 else opts
    return {"ss": f"{t:.3f}"} if t > 0 else {}


async def _poster(source: str, dst: Path, w: int, h: int, t: float, keyframe: float | None = None,
                  opts: dict | None = None) -> Path:
    for seek, key in ((t, keyframe), (0.0, None)):  # a seek past the last decodable frame writes nothing: fall back to 0
        node = ffmpeg.input(source, **(opts or {}), **_seek_opts(seek, key))["v:0"].filter("scale", w, h)
        argv = (ffmpeg.output(node, ff_target(dst), format="image2", update=1,
                              **{"frames:v": 1, "q:v": 4})
                .global_args(*GLOBAL_ARGS).overwrite_output().compile(cmd=ffmpeg_path()))
        await run_ffmpeg(argv, duration=0, output=dst, **limits.thumbnail_run_options())
        if dst.exists() and dst.stat().st_size > 0:
            return dst
    raise ThumbnailError(f"no frame could be decoded near {t:.2f} s")


async def make_filmstrip(src, dst_jpg, info: MediaInfo, frames: int = 12, tile_width: int = 160, *,
                         keyframes: list[float | None] | None = None) -> FilmstripInfo:
    """One horizontal JPEG sprite of `frames` evenly spaced tiles, each `tile_width` px wide;
    `keyframes[i]`, where not None, is the keyframe tile i shows instead of its exact instant."""
    if not 1 <= frames <= MAX_TILES:
        raise ValueError(f"frames must be between 1 and {MAX_TILES}, got {frames}")
    dst = Path(dst_jpg)
    dst.parent.mkdir(parents=True, exist_ok=True)
    w, h = _tile_size(info, tile_width)
    if info.is_image or info.duration <= 0:
        frames = 1
    with _decodable(src, info) as (source, opts):
        await _filmstrip(source, dst, info, frames, w, h, keyframes, opts)
    return FilmstripInfo(frames=frames, tile_width=w, tile_height=h)


def _tile_times(info: MediaInfo, frames: int) -> list[float]:
    return [round(_safe_time(info, (i + 0.5) * info.duration / frames), 3) for i in range(frames)]


async def _filmstrip(source: str, dst: Path, info: MediaInfo, frames: int, w: int, h: int,
                     keyframes: list[float | None] | None, opts: dict | None = None) -> None:
    keyframes = keyframes or [None] * frames
    # (instant, keyframe or None) per tile; one input per distinct picture (short clips repeat
    # instants: split those tiles)
    wanted = [(t, None) if k is None else (k, k) for t, k in zip(_tile_times(info, frames), keyframes)]
    pictures = {}
    for t, key in dict.fromkeys(wanted):
        v = ffmpeg.input(source, **(opts or {}), **_seek_opts(t, key))["v:0"]
        v = v.filter("trim", end_frame=1).filter("scale", w, h).filter("setsar", 1)
        uses = wanted.count((t, key))
        pictures[(t, key)] = list(v.split()[i] for i in range(uses)) if uses > 1 else [v]
    tiles = [pictures[p].pop() for p in wanted]
    joined = tiles[0] if frames == 1 else ffmpeg.filter(tiles, "hstack", inputs=frames)
    argv = (ffmpeg.output(joined, ff_target(dst), format="image2", update=1, **{"frames:v": 1, "q:v": 5})
            .global_args(*GLOBAL_ARGS).overwrite_output().compile(cmd=ffmpeg_path()))
    await run_ffmpeg(argv, duration=0, output=dst, **limits.thumbnail_run_options())
    if not dst.exists() or dst.stat().st_size == 0:
        raise FFmpegError("ffmpeg wrote no filmstrip picture", "", 0)


# ---------------------------------------------------------------- poster + filmstrip together
# Costs in decoded pixels. Opening an input and seeking costs about as much as decoding
# OPEN_PIXELS; a seek to an instant decodes from the keyframe before it, a keyframe-only tile
# decodes one frame, one pass decodes every frame once. A 3 s 320x240 clip: one pass ~30 ms against
# ~280 ms for 13 exact seeks; a 10 s 720p clip with one keyframe: one pass 0.2 s against 0.7 s of
# exact seeks; 60 s of 1080p with 2 s GOPs: 13 keyframe-only tiles, a few dozen ms.
OPEN_PIXELS = 20_000_000
REMOTE_ONE_PASS_MAX_PIXELS = 100_000_000  # ~2 s of 1080p, ~50 s of 240p


@dataclass(frozen=True)
class ThumbnailPlan:
    one_pass: bool
    poster_keyframe: float | None = None  # with one_pass False: keyframes to show, None = exact
    tile_keyframes: tuple[float | None, ...] = ()


async def plan_thumbnails(src, info: MediaInfo, frames: int) -> ThumbnailPlan:
    """One decoding pass or seeks (keyframe-only where a keyframe is close enough), whichever
    decodes fewer pixels. Without a keyframe index (unreadable packets) every seek is exact."""
    v = info.video
    fps = v.fps or 30.0
    pixels = v.width * v.height
    instants = [_safe_time(info, info.duration * 0.1), *_tile_times(info, frames)]  # poster, tiles
    span = info.duration / frames
    one_pass_cost = OPEN_PIXELS + pixels * fps * info.duration
    if one_pass_cost <= len(instants) * (OPEN_PIXELS + pixels):
        return ThumbnailPlan(one_pass=True)  # cheaper than any seeks: no need to read keyframes
    if is_url(src):
        # a remote source (S3): requests and bytes cost more than decoding; one pass downloads the
        # whole file, and the keyframe lookup adds a request per instant. Exact seeks, as before,
        # unless the file is small.
        return ThumbnailPlan(one_pass=one_pass_cost <= REMOTE_ONE_PASS_MAX_PIXELS)
    try:
        keys = await keyframes_before(src, instants)
    except ProbeError:
        keys = [None] * len(instants)
    chosen = [k if k is not None and t - k <= span / 2 else None for t, k in zip(instants, keys)]
    seek_cost = 0.0
    for t, k, use in zip(instants, keys, chosen):
        if use is not None:
            seek_cost += OPEN_PIXELS + pixels
        else:
            gap = t - k if k is not None else min(t, 10.0)  # unknown GOP: assume up to 10 s
            seek_cost += OPEN_PIXELS + pixels * (gap * fps + 1)
    if one_pass_cost <= seek_cost:
        return ThumbnailPlan(one_pass=True)
    return ThumbnailPlan(one_pass=False, poster_keyframe=chosen[0], tile_keyframes=tuple(chosen[1:]))


async def make_thumbnails(src, poster_jpg, filmstrip_jpg, info: MediaInfo, *, frames: int = 12,
                          tile_width: int = 160, poster_width: int = POSTER_WIDTH) -> FilmstripInfo:
    """Poster (at 10 %) and filmstrip, whichever way `plan_thumbnails` finds cheaper: one decoding
    pass (exactly make_poster's and make_filmstrip's frames) or seeks, where a tile may show the
    keyframe just before its instant."""
    if not 1 <= frames <= MAX_TILES:
        raise ValueError(f"frames must be between 1 and {MAX_TILES}, got {frames}")
    if info.video is None or info.is_image or info.duration <= 0 or info.video.codec == "webp":
        await make_poster(src, poster_jpg, info, width=poster_width)
        return await make_filmstrip(src, filmstrip_jpg, info, frames=frames, tile_width=tile_width)
    plan = await plan_thumbnails(src, info, frames)
    if not plan.one_pass:
        await make_poster(src, poster_jpg, info, width=poster_width, keyframe=plan.poster_keyframe)
        return await make_filmstrip(src, filmstrip_jpg, info, frames=frames, tile_width=tile_width,
                                    keyframes=list(plan.tile_keyframes))
    poster, strip = Path(poster_jpg), Path(filmstrip_jpg)
    for dst in (poster, strip):
        dst.parent.mkdir(parents=True, exist_ok=True)
    graph, outputs, made = one_pass_graph(info, poster, strip, frames=frames, tile_width=tile_width,
                                          poster_width=poster_width)
    # one decoding thread and no audio/subtitle demuxing cost less CPU than threads
    argv = [
        ffmpeg_path(), *GLOBAL_ARGS, "-filter_complex_threads", "1", "-y",
        "-threads", "1", "-an", "-sn", "-dn", "-i", ff_target(src), "-filter_complex", graph, *outputs,
    ]
    try:
        await run_ffmpeg(argv, duration=0, output=strip, **limits.thumbnail_run_options())
    except BaseException:
        poster.unlink(missing_ok=True)
        raise
    if not (poster.exists() and poster.stat().st_size and strip.exists() and strip.stat().st_size):
        # e.g. the container promised more than the stream holds: the seeking path copes with that
        await make_poster(src, poster, info, width=poster_width)
        return await make_filmstrip(src, strip, info, frames=frames, tile_width=tile_width)
    return made


def one_pass_graph(info: MediaInfo, poster_jpg, filmstrip_jpg, *, frames: int = 12, tile_width: int = 160,
                   poster_width: int = POSTER_WIDTH, source: str = "[0:v:0]",
                   prefix: str = "") -> tuple[str, list[str], FilmstripInfo]:
    """(filter graph, output arguments, what the filmstrip will be) for poster and filmstrip from
    ONE decoding pass over the video `source` label: exactly make_poster's and make_filmstrip's
    frames. Used by make_thumbnails and by the analysis pass (which decodes every frame anyway);
    `prefix` keeps the graph's labels apart from the caller's."""
    pw, ph = _tile_size(info, poster_width)
    tw, th = _tile_size(info, tile_width)
    at = _safe_time(info, info.duration * 0.1)
    step = info.duration / frames  # tile i: the first frame at or after (i + 0.5) * step, as
    last = _safe_time(info, info.duration)  # make_filmstrip picks, with the same end clamp
    a, b, p, f = (f"[{prefix}{n}]" for n in "abpf")
    graph = (
        f"{source}split=2{a}{b};"
        f"{a}select='gte(t-start_t,{at:.3f})*lt(selected_n,1)',scale={pw}:{ph}{p};"
        f"{b}select='gte(t-start_t,min((selected_n+0.5)*{step:.6f},{last:.3f}))',scale={tw}:{th},setsar=1,"
        f"tile={frames}x1{f}"
    )
    outputs = [
        "-map", p, "-frames:v", "1", "-update", "1", "-q:v", "4", "-f", "image2", ff_target(Path(poster_jpg)),
        "-map", f, "-frames:v", "1", "-update", "1", "-q:v", "5", "-f", "image2", ff_target(Path(filmstrip_jpg)),
    ]
    return graph, outputs, FilmstripInfo(frames=frames, tile_width=tw, tile_height=th)

