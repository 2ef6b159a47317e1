"""Poster and filmstrip pictures for the catalog and the timeline, without decoding whole files.

Poster: one JPEG ~320 px wide at 10 % of the duration (or `at`). Filmstrip: one horizontal JPEG
sprite of N tiles in ONE ffmpeg run: each tile is its own input opened with `-ss` (input
seeking: only the GOP around that instant is decoded), the tiles are joined with `hstack`.
"""
from __future__ import annotations

import contextlib
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from .binaries import ffmpeg_path
from .command import GLOBAL_ARGS
from .paths import ff_target, is_url
from .probe import MediaInfo
from .runner import FFmpegError, run_ffmpeg
from .webp import WebPError, webp_to_ivf

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
    """`src`, or for an animated WebP (no decoder in ffmpeg) its VP8 frames as a temporary IVF."""
    if info.video is None or info.video.codec != "webp":
        yield src
        return
    if is_url(src):
        raise ThumbnailError("pictures of a remote WebP are not supported")
    with tempfile.TemporaryDirectory(prefix="mpr-webp-") as tmp:
        ivf = Path(tmp) / "frames.ivf"
        try:
            ivf.write_bytes(webp_to_ivf(Path(src).read_bytes()))
        except WebPError as exc:
            raise ThumbnailError(f"cannot read WebP frames: {exc}") from None
        yield ivf


def _safe_time(info: MediaInfo, t: float) -> float:
    """A seek target that still has a frame after it."""
    if info.duration <= 0:
        return 0.0
    frame = 1.0 / info.video.fps if info.video and info.video.fps else 0.04
    return max(0.0, min(t, info.duration - 2 * frame - 0.05))


async def make_poster(src, dst_jpg, info: MediaInfo, at: float | None = None, *,
                      width: int = POSTER_WIDTH) -> Path:
    """Write a JPEG of the frame at `at` seconds (default 10 % of the duration) to `dst_jpg`."""
    dst = Path(dst_jpg)
    dst.parent.mkdir(parents=True, exist_ok=True)
    w, h = _tile_size(info, width)
    t = _safe_time(info, info.duration * 0.1 if at is None else at)
    with _decodable(src, info) as src:
        return await _poster(src, dst, w, h, t)


async def _poster(src, dst: Path, w: int, h: int, t: float) -> Path:
    for seek in (t, 0.0):  # a seek past the last decodable frame writes nothing: fall back to 0
        opts = {"ss": f"{seek:.3f}"} if seek > 0 else {}
        node = ffmpeg.input(ff_target(src), **opts)["v:0"].filter("scale", w, h)
        argv = (ffmpeg.output(node, ff_target(dst), format="image2", update=1,
                              **{"frames:v": 1, "q:v": 4})
                .global_args(*GLOBAL_ARGS).overwrite_output().compile(cmd=ffmpeg_path()))
        await run_ffmpeg(argv, duration=0, output=dst)
        if dst.exists() and dst.stat().st_size > 0:
            return dst
    raise ThumbnailError(f"no frame could be decoded near {t:.2f} s")


async def make_filmstrip(src, dst_jpg, info: MediaInfo, frames: int = 12, tile_width: int = 160
                         ) -> FilmstripInfo:
    """One horizontal JPEG sprite of `frames` evenly spaced tiles, each `tile_width` px wide."""
    if not 1 <= frames <= MAX_TILES:
        raise ValueError(f"frames must be between 1 and {MAX_TILES}, got {frames}")
    dst = Path(dst_jpg)
    dst.parent.mkdir(parents=True, exist_ok=True)
    w, h = _tile_size(info, tile_width)
    if info.is_image or info.duration <= 0:
        frames = 1
    with _decodable(src, info) as decodable:
        await _filmstrip(ff_target(decodable), dst, info, frames, w, h)
    return FilmstripInfo(frames=frames, tile_width=w, tile_height=h)


async def _filmstrip(source: str, dst: Path, info: MediaInfo, frames: int, w: int, h: int) -> None:
    times = [round(_safe_time(info, (i + 0.5) * info.duration / frames), 3) for i in range(frames)]
    # one input per distinct instant (short clips repeat instants: split those tiles)
    pictures = {}
    for t in dict.fromkeys(times):
        opts = {"ss": f"{t:.3f}"} if t > 0 else {}
        v = ffmpeg.input(source, **opts)["v:0"]
        v = v.filter("trim", end_frame=1).filter("scale", w, h).filter("setsar", 1)
        uses = times.count(t)
        pictures[t] = list(v.split()[i] for i in range(uses)) if uses > 1 else [v]
    tiles = [pictures[t].pop() for t in times]
    joined = tiles[0] if frames == 1 else ffmpeg.filter(tiles, "hstack", inputs=frames)
    argv = (ffmpeg.output(joined, ff_target(dst), format="image2", update=1, **{"frames:v": 1, "q:v": 5})
            .global_args(*GLOBAL_ARGS).overwrite_output().compile(cmd=ffmpeg_path()))
    await run_ffmpeg(argv, duration=0, output=dst)
    if not dst.exists() or dst.stat().st_size == 0:
        raise FFmpegError("ffmpeg wrote no filmstrip picture", "", 0)


# ---------------------------------------------------------------- poster + filmstrip together
# Decoding a small or short source once is far cheaper than opening it frames+1 times: a 3 s
# 320x240 clip takes ~30 ms this way against ~280 ms for make_poster + make_filmstrip. Above this
# many decoded pixels (width x height x fps x duration; ~2 s of 1080p, ~50 s of 240p) the
# input-seeking functions above win, and make_thumbnails uses them.
ONE_PASS_MAX_PIXELS = 100_000_000


def one_pass_worthwhile(info: MediaInfo) -> bool:
    v = info.video
    if v is None or info.duration <= 0 or info.is_image:
        return False
    return v.width * v.height * (v.fps or 30.0) * info.duration <= ONE_PASS_MAX_PIXELS


async def make_thumbnails(src, poster_jpg, filmstrip_jpg, info: MediaInfo, *, frames: int = 12,
                          tile_width: int = 160, poster_width: int = POSTER_WIDTH) -> FilmstripInfo:
    """Poster (at 10 %) and filmstrip (same tiles as make_filmstrip) — in ONE decoding pass of the
    source when that is cheap (`one_pass_worthwhile`), else via make_poster + make_filmstrip."""
    if not 1 <= frames <= MAX_TILES:
        raise ValueError(f"frames must be between 1 and {MAX_TILES}, got {frames}")
    if not one_pass_worthwhile(info):
        await make_poster(src, poster_jpg, info, width=poster_width)
        return await make_filmstrip(src, filmstrip_jpg, info, frames=frames, tile_width=tile_width)
    poster, strip = Path(poster_jpg), Path(filmstrip_jpg)
    for dst in (poster, strip):
        dst.parent.mkdir(parents=True, exist_ok=True)
    pw, ph = _tile_size(info, poster_width)
    tw, th = _tile_size(info, tile_width)
    at = _safe_time(info, info.duration * 0.1)
    step = info.duration / frames  # tile i: the first frame at or after (i + 0.5) * step, as
    last = _safe_time(info, info.duration)  # make_filmstrip picks, with the same end clamp
    graph = (
        "[0:v:0]split=2[a][b];"
        f"[a]select='gte(t-start_t,{at:.3f})',scale={pw}:{ph}[p];"
        f"[b]select='gte(t-start_t,min((selected_n+0.5)*{step:.6f},{last:.3f}))',scale={tw}:{th},setsar=1,"
        f"tile={frames}x1[f]"
    )
    # small source: one decoding thread and no audio/subtitle demuxing cost less CPU than threads
    argv = [
        ffmpeg_path(), *GLOBAL_ARGS, "-filter_complex_threads", "1", "-y",
        "-threads", "1", "-an", "-sn", "-dn", "-i", ff_target(src), "-filter_complex", graph,
        "-map", "[p]", "-frames:v", "1", "-update", "1", "-q:v", "4", "-f", "image2", ff_target(poster),
        "-map", "[f]", "-frames:v", "1", "-update", "1", "-q:v", "5", "-f", "image2", ff_target(strip),
    ]
    try:
        await run_ffmpeg(argv, duration=0, output=strip)
    except BaseException:
        poster.unlink(missing_ok=True)
        raise
    if not (poster.exists() and poster.stat().st_size and strip.exists() and strip.stat().st_size):
        # e.g. the container promised more than the stream holds: the seeking path copes with that
        await make_poster(src, poster, info, width=poster_width)
        return await make_filmstrip(src, strip, info, frames=frames, tile_width=tile_width)
    return FilmstripInfo(frames=frames, tile_width=tw, tile_height=th)
