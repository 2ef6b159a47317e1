"""Animated WebP without libwebp: wrap intra-only VP8 frames (an IVF file from ffmpeg) into a
RIFF/WebP animation (VP8X + ANIM + one ANMF per frame), as the WebP container spec describes.

The bundled ffmpeg has VP8 (libvpx) but no WebP encoder; a lossy WebP frame *is* a VP8 key
frame, so only the container has to be written here.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

IVF_MAGIC = b"DKIF"


class WebPError(Exception):
    """The IVF input is not usable for a WebP animation."""


def is_ivf(path: str | os.PathLike) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == IVF_MAGIC
    except OSError:
        return False


def _chunk(fourcc: bytes, payload: bytes) -> bytes:
    pad = b"\0" if len(payload) % 2 else b""
    return fourcc + struct.pack("<I", len(payload)) + payload + pad


def _u24(value: int) -> bytes:
    return struct.pack("<I", value)[:3]


def _read_ivf(data: bytes) -> tuple[int, int, float, list[tuple[int, bytes]]]:
    if len(data) < 32 or data[:4] != IVF_MAGIC:
        raise WebPError("not an IVF file")
    header_len = struct.unpack_from("<H", data, 6)[0]
    fourcc = data[8:12]
    if fourcc != b"VP80":
        raise WebPError(f"IVF holds {fourcc!r}, WebP needs VP8")
    width, height, rate, scale = struct.unpack_from("<HHII", data, 12)
    timebase = scale / rate if rate else 1 / 1000
    frames: list[tuple[int, bytes]] = []
    pos = header_len
    while pos + 12 <= len(data):
        size, pts = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if pos + size > len(data):
            raise WebPError("IVF frame cut short")
        frames.append((pts, data[pos:pos + size]))
        pos += size
    if not frames:
        raise WebPError("IVF holds no frames")
    return width, height, timebase, frames


def ivf_to_webp(ivf: bytes, default_frame_ms: int = 83, loop: int = 0) -> bytes:
    """Animated WebP bytes from the bytes of an IVF file of VP8 key frames."""
    width, height, timebase, frames = _read_ivf(ivf)
    body = bytearray(b"WEBP")
    # VP8X: animation flag (bit 1), canvas size minus one
    body += _chunk(b"VP8X", bytes([0x02, 0, 0, 0]) + _u24(width - 1) + _u24(height - 1))
    body += _chunk(b"ANIM", struct.pack("<IH", 0x00000000, loop))  # background, loop (0 = forever)
    for i, (pts, frame) in enumerate(frames):
        if len(frame) < 10 or frame[0] & 1:
            raise WebPError(f"frame {i} is not a VP8 key frame")
        if i + 1 < len(frames):
            ms = round((frames[i + 1][0] - pts) * timebase * 1000)
        elif len(frames) > 1:  # last frame: as long as the average frame before it
            ms = round((pts - frames[0][0]) * timebase * 1000 / (len(frames) - 1))
        else:
            ms = round(default_frame_ms)
        ms = max(1, min(ms, 0xFFFFFF))
        # frame size from the VP8 key-frame header (14-bit fields after the start code)
        fw, fh = struct.unpack_from("<HH", frame, 6)
        fw, fh = fw & 0x3FFF, fh & 0x3FFF
        anmf = _u24(0) + _u24(0) + _u24(fw - 1) + _u24(fh - 1) + _u24(ms) + bytes([0x02])
        body += _chunk(b"ANMF", anmf + _chunk(b"VP8 ", frame))
    return b"RIFF" + struct.pack("<I", len(body)) + bytes(body)


def finish_webp(path: str | os.PathLike, fps: float | None = None) -> bool:
    """If `path` still holds the IVF that ffmpeg wrote, rewrite it in place as an animated WebP.

    Returns True when a conversion happened (False: already WebP or not IVF). Atomic: a
    temporary sibling is renamed over `path`.
    """
    path = Path(path)
    if not is_ivf(path):
        return False
    data = path.read_bytes()
    default_ms = round(1000 / fps) if fps else 83
    webp = ivf_to_webp(data, default_frame_ms=default_ms)
    tmp = path.with_name(path.name + ".tmp-webp")
    tmp.write_bytes(webp)
    os.replace(tmp, path)
    return True


def webp_info(path: str | os.PathLike) -> dict:
    """Structural check of a WebP file: {'width', 'height', 'frames', 'duration'} (seconds).

    Raises WebPError when the RIFF layout is broken or a frame is not VP8/VP8L data.
    (ffprobe cannot read animated WebP, so outputs are checked here.)
    """
    data = Path(path).read_bytes()
    if len(data) < 20 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise WebPError("not a WebP file")
    riff_size = struct.unpack_from("<I", data, 4)[0]
    if riff_size + 8 > len(data):
        raise WebPError("truncated WebP file")
    width = height = 0
    frames = 0
    duration_ms = 0
    pos = 12
    while pos + 8 <= riff_size + 8:
        fourcc = data[pos:pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        payload = data[pos + 8:pos + 8 + size]
        if len(payload) != size:
            raise WebPError(f"chunk {fourcc!r} cut short")
        if fourcc == b"VP8X":
            width = int.from_bytes(payload[4:7], "little") + 1
            height = int.from_bytes(payload[7:10], "little") + 1
        elif fourcc == b"ANMF":
            duration_ms += int.from_bytes(payload[12:15], "little")
            inner = payload[16:]
            if inner[:4] not in (b"VP8 ", b"VP8L", b"ALPH"):
                raise WebPError(f"animation frame {frames} holds {inner[:4]!r}")
            if inner[:4] == b"VP8 " and inner[8 + 3:8 + 6] != b"\x9d\x01\x2a":
                raise WebPError(f"animation frame {frames} is not a VP8 key frame")
            frames += 1
        elif fourcc in (b"VP8 ", b"VP8L"):
            frames += 1
            if fourcc == b"VP8 " and not width:
                width, height = (v & 0x3FFF for v in struct.unpack_from("<HH", payload, 6))
        pos += 8 + size + (size & 1)
    if not frames or not width or not height:
        raise WebPError("WebP file holds no image")
    return {"width": width, "height": height, "frames": frames, "duration": duration_ms / 1000}


def webp_to_ivf(data: bytes) -> bytes:
    """The VP8 frames of a (lossy) WebP image/animation as an IVF file ffmpeg can decode.

    Timestamps are in milliseconds from the ANMF frame durations. VP8L (lossless) frames are
    not supported (our own previews never contain them).
    """
    if len(data) < 20 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise WebPError("not a WebP file")
    frames: list[tuple[int, bytes]] = []
    t = 0
    pos = 12
    while pos + 8 <= len(data):
        fourcc = data[pos:pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        payload = data[pos + 8:pos + 8 + size]
        if fourcc == b"ANMF":
            inner = payload[16:]
            if inner[:4] == b"VP8 ":
                vsize = struct.unpack_from("<I", inner, 4)[0]
                frames.append((t, inner[8:8 + vsize]))
            t += int.from_bytes(payload[12:15], "little")
        elif fourcc == b"VP8 ":
            frames.append((0, payload))
        pos += 8 + size + (size & 1)
    if not frames:
        raise WebPError("no VP8 frames (lossless WebP is not supported)")
    w, h = (v & 0x3FFF for v in struct.unpack_from("<HH", frames[0][1], 6))
    head = IVF_MAGIC + struct.pack("<HH4sHHIII", 0, 32, b"VP80", w, h, 1000, 1, len(frames)) + b"\0" * 4
    return head + b"".join(struct.pack("<IQ", len(f), pts) + f for pts, f in frames)
