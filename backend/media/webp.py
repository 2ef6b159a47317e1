"""Animated WebP through Pillow, whose wheels ship libwebp (the bundled ffmpeg has no WebP encoder
and cannot decode animated WebP).

Making one: `command.build_command` has ffmpeg write the scaled, resampled frames as a stream of
binary PPM images (`-f image2pipe -c:v ppm`, lossless, one fixed size) to the output path;
`finish_webp` then encodes that stream, one frame at a time, as an animated WebP in place
(every frame a key frame, looping forever). Reading one: `webp_info` (size, frames, duration;
ffprobe cannot read animated WebP) and `webp_to_frames` (the frames back as a PPM stream that
ffmpeg decodes, for posters and filmstrips).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from PIL import Image, ImageFile

QUALITY = 80  # libwebp lossy quality (0-100) of every frame
FRAMES_MAGIC = b"P6"
_PPM_HEADER = re.compile(rb"P6\s+(\d+)\s+(\d+)\s+255\s")


class WebPError(Exception):
    """The frames cannot become a WebP, or a WebP file cannot be read."""


class PpmFrames(ImageFile.ImageFile):
    """A Pillow image over a file of back-to-back binary PPM frames of one size (what ffmpeg's
    image2pipe + ppm writes); each `seek` reads only that frame, so memory holds one frame."""

    format = "PPM-FRAMES"
    format_description = "PPM frame stream"
    _close_exclusive_fp_after_loading = False  # later frames are read from the same file

    def _open(self) -> None:
        head = self.fp.read(64)
        match = _PPM_HEADER.match(head)
        if not match:
            raise SyntaxError("not a stream of binary RGB PPM frames")
        width, height = int(match[1]), int(match[2])
        self._mode, self._size = "RGB", (width, height)
        self._header = match.group(0)
        self._frame_bytes = len(self._header) + width * height * 3
        total = os.fstat(self.fp.fileno()).st_size
        if total == 0 or total % self._frame_bytes:
            raise SyntaxError(f"the frame stream is cut short ({total} bytes, frames of {self._frame_bytes})")
        self.n_frames = total // self._frame_bytes
        self.is_animated = self.n_frames > 1
        self._fp = self.fp
        self._frame = -1
        self.seek(0)

    def seek(self, frame: int) -> None:
        if not self._seek_check(frame) or frame == self._frame:
            return
        start = frame * self._frame_bytes
        self._fp.seek(start)
        if self._fp.read(len(self._header)) != self._header:
            raise SyntaxError(f"frame {frame} does not start with the first frame's header")
        self.fp, self._frame = self._fp, frame
        self.tile = [ImageFile._Tile("raw", (0, 0, *self.size), start + len(self._header), ("RGB", 0, 1))]

    def tell(self) -> int:
        return self._frame


def is_frame_stream(path: str | os.PathLike) -> bool:
    """Whether `path` still holds ffmpeg's PPM frames (not yet turned into WebP)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == FRAMES_MAGIC
    except OSError:
        return False


def finish_webp(path: str | os.PathLike, duration: float | None = None, fps: float | None = None) -> bool:
    """If `path` holds ffmpeg's PPM frames, rewrite it in place as an animated WebP.

    Each frame lasts `duration / frames` seconds (the expected length of the animation), else
    1 / `fps`, else 1/12 s. Returns True when a conversion happened (False: already WebP, or not
    frames). Atomic: a temporary sibling is renamed over `path`.
    """
    path = Path(path)
    if not is_frame_stream(path):
        return False
    tmp = path.with_name(path.name + ".tmp-webp")
    options = {"format": "WEBP", "save_all": True, "loop": 0, "quality": QUALITY, "method": 4,
               "kmin": 0, "kmax": 1}  # kmax=1: libwebp makes every frame a key frame
    try:
        with PpmFrames(path) as frames:
            if duration and duration > 0:
                frame_ms = duration * 1000 / frames.n_frames
            else:
                frame_ms = 1000 / fps if fps else 1000 / 12
            frames.save(tmp, duration=frame_ms, **options)
            if _frame_count(tmp) < 2:
                # libwebp keeps one frame for a run of (nearly) identical ones and writes a lone
                # frame as a still picture, without its duration: a still scene must stay an
                # animation of its length, so it gets a last frame that differs in one pixel
                total = frame_ms * frames.n_frames
                first, last = _still_pair(frames)
                first.save(tmp, append_images=[last], duration=[total - frame_ms / 2, frame_ms / 2], **options)
                if _frame_count(tmp) < 2:
                    raise ValueError("libwebp wrote a still picture")
    except (OSError, SyntaxError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise WebPError(f"cannot write the WebP animation: {exc}") from None
    os.replace(tmp, path)
    return True


def _frame_count(path: Path) -> int:
    with Image.open(path, formats=["WEBP"]) as im:
        return getattr(im, "n_frames", 1)


def _still_pair(frames: PpmFrames) -> tuple[Image.Image, Image.Image]:
    """The first frame, and a copy whose corner pixel's blue is 32 levels off (more than libwebp's
    lossy tolerance for "unchanged", which is at most 31 levels)."""
    frames.seek(0)
    first = frames.convert("RGB")
    last = first.copy()
    r, g, b = last.getpixel((0, 0))
    last.putpixel((0, 0), (r, g, b + 32 if b < 128 else b - 32))
    return first, last


def _open_webp(path: str | os.PathLike) -> Image.Image:
    try:
        return Image.open(path, formats=["WEBP"])
    except (OSError, SyntaxError, ValueError) as exc:
        raise WebPError(f"not a WebP file: {exc}") from None


def webp_info(path: str | os.PathLike) -> dict:
    """{'width', 'height', 'frames', 'duration'} (seconds) of a WebP image or animation.

    Every frame is decoded, so a damaged file raises WebPError.
    """
    with _open_webp(path) as im:
        frames = getattr(im, "n_frames", 1)
        duration_ms = 0.0
        try:
            for index in range(frames):
                im.seek(index)
                im.load()
                duration_ms += im.info.get("duration") or 0
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise WebPError(f"frame {index} cannot be decoded: {exc}") from None
        width, height = im.size
    if not frames or not width or not height:
        raise WebPError("WebP file holds no image")
    return {"width": width, "height": height, "frames": frames, "duration": duration_ms / 1000}


def webp_to_frames(src: str | os.PathLike, dst: str | os.PathLike) -> float:
    """Write the frames of a WebP to `dst` as a PPM stream (ffmpeg reads it as `ppm_pipe` at the
    returned frame rate); returns that rate in frames per second."""
    info = webp_info(src)
    with _open_webp(src) as im, open(dst, "wb") as out:
        for index in range(info["frames"]):
            im.seek(index)
            frame = im.convert("RGB")
            out.write(b"P6\n%d %d\n255\n" % frame.size)
            out.write(frame.tobytes())
    return info["frames"] / info["duration"] if info["duration"] > 0 else 12.0
