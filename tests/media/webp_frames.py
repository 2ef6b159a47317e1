"""Test-side reader: the VP8 frames of a lossy WebP animation as an IVF file, so an independent
decoder (ffmpeg's VP8 decoder) can prove each frame decodes. Not used by MPR itself, which reads
WebP through Pillow (backend/media/webp.py)."""
from __future__ import annotations

import struct

IVF_MAGIC = b"DKIF"


def webp_to_ivf(data: bytes) -> bytes:
    """IVF (timestamps in ms from the ANMF frame durations) of the VP8 frames of a WebP file."""
    if len(data) < 20 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP file")
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
        raise ValueError("no VP8 frames")
    w, h = (v & 0x3FFF for v in struct.unpack_from("<HH", frames[0][1], 6))
    head = IVF_MAGIC + struct.pack("<HH4sHHIII", 0, 32, b"VP80", w, h, 1000, 1, len(frames)) + b"\0" * 4
    return head + b"".join(struct.pack("<IQ", len(f), pts) + f for pts, f in frames)
