"""Every H.264 parameter set of a smart cut in the MP4's one sample description (`avcC`).

A smart cut joins re-encoded edges (SPS/PPS ids 30 and 31) with the source's copied GOPs (id 0,
almost always). FFmpeg's MP4 muxer writes only the first part's parameter sets into `avcC`; the
others stay in-band, in their parts' keyframe samples. FFmpeg and Chromium read in-band sets;
players that only ever use the sample description (Safari-class, some hardware decoders) would
decode the later parts with the wrong set. Because the ids are distinct, one `avcC` can hold them
all (ISO/IEC 14496-15 allows up to 31 SPS and 255 PPS) and every slice finds its own.

`finish_mp4(path, nal_sets)` does that edit and the "fast start" move of the `moov` box in front of
the media data in one rewrite of the file (the join writes `moov` at the end, so this costs what
FFmpeg's own `+faststart` pass cost). `parameter_sets(path)` reads the sets at the start of one
part (Annex B). Pure file knowledge: boxes are walked by their headers, nothing is decoded.
"""
from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

from .binaries import ffmpeg_path

SPS, PPS = 7, 8
MAX_SPS, MAX_PPS = 31, 255
# boxes whose payload is a list of boxes, on the way from moov to the sample descriptions
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"udta", b"mvex"}
VISUAL_ENTRY_HEADER = 78  # after the box header: SampleEntry (reserved, data_reference_index: 8) + VisualSampleEntry fields (70)
COPY_BLOCK = 8 << 20


class AvcCError(ValueError):
    """The file is not an MP4 this edit understands; str(e) says what was found."""


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01 removed)."""
    units, i, n = [], 0, len(data)
    starts = []
    while True:
        i = data.find(b"\x00\x00\x01", i)
        if i < 0:
            break
        starts.append(i + 3)
        i += 3
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else n
        unit = data[s:end].rstrip(b"\x00") if k + 1 < len(starts) else data[s:end]
        if unit:
            units.append(unit)
    return units


def parameter_sets(path: Path, timeout: float = 60) -> list[bytes]:
    """The SPS and PPS NAL units at the start of a part's first video access unit."""
    proc = subprocess.run([ffmpeg_path(), "-v", "error", "-nostdin", "-i", str(path), "-map", "0:v:0", "-c", "copy",
                           "-frames:v", "1", "-bsf:v", "h264_mp4toannexb", "-f", "h264", "pipe:1"],
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AvcCError(f"could not read the parameter sets of {path.name}: {proc.stderr.decode(errors='replace')[-300:]}")
    return [u for u in split_annexb(proc.stdout) if u[0] & 0x1F in (SPS, PPS)]


def _ue(bits: str, pos: int) -> tuple[int, int]:
    zeros = 0
    while bits[pos + zeros] == "0":
        zeros += 1
    value = int(bits[pos + zeros:pos + 2 * zeros + 1], 2) - 1
    return value, pos + 2 * zeros + 1


def _rbsp_bits(unit: bytes, limit: int = 16) -> str:
    raw = unit[1:1 + limit].replace(b"\x00\x00\x03", b"\x00\x00")
    return "".join(f"{b:08b}" for b in raw)


def set_id(unit: bytes) -> int:
    """seq_parameter_set_id of an SPS, pic_parameter_set_id of a PPS."""
    if unit[0] & 0x1F == SPS:
        return _ue(_rbsp_bits(unit), 24)[0]  # after profile_idc, constraint flags, level_idc
    return _ue(_rbsp_bits(unit), 0)[0]


def _parse_avcc(payload: bytes) -> tuple[bytes, list[bytes], list[bytes], bytes]:
    """(the 5 fixed bytes, SPS list, PPS list, the rest: the high-profile extension)."""
    if len(payload) < 7 or payload[0] != 1:
        raise AvcCError("avcC is not configuration version 1")
    pos, sps, pps = 6, [], []
    for _ in range(payload[5] & 0x1F):
        (size,) = struct.unpack_from(">H", payload, pos)
        sps.append(payload[pos + 2:pos + 2 + size])
        pos += 2 + size
    count = payload[pos]
    pos += 1
    for _ in range(count):
        (size,) = struct.unpack_from(">H", payload, pos)
        pps.append(payload[pos + 2:pos + 2 + size])
        pos += 2 + size
    return payload[:5], sps, pps, payload[pos:]


def merged_avcc(payload: bytes, units: list[bytes]) -> bytes:
    """avcC with `units` (SPS/PPS NAL units) added after its own sets, each distinct set once.

    Two different sets with the same id cannot share one avcC: AvcCError (the caller keeps the
    file as FFmpeg wrote it, with the sets in-band)."""
    head, sps, pps, rest = _parse_avcc(payload)
    for unit in units:
        kind = unit[0] & 0x1F
        bucket = sps if kind == SPS else pps
        if unit in bucket:
            continue
        if any(set_id(u) == set_id(unit) for u in bucket):
            raise AvcCError(f"two different {'SPS' if kind == SPS else 'PPS'} with id {set_id(unit)}")
        bucket.append(unit)
    if len(sps) > MAX_SPS or len(pps) > MAX_PPS:
        raise AvcCError("more parameter sets than one avcC can hold")
    out = bytearray(head) + bytes([0xE0 | len(sps)])
    for unit in sps:
        out += struct.pack(">H", len(unit)) + unit
    out.append(len(pps))
    for unit in pps:
        out += struct.pack(">H", len(unit)) + unit
    return bytes(out + rest)


def _boxes(data: bytes, start: int, end: int):
    """(type, box start, payload start, box end) of the boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise AvcCError(f"box {kind!r} at {pos} overruns its parent")
        yield kind, pos, pos + header, pos + size
        pos += size


def _rebuild(data: bytes, start: int, end: int, edit) -> bytes:
    """The boxes of data[start:end] again, each passed through edit(kind, box) or descended into."""
    out = bytearray()
    for kind, box, payload, box_end in _boxes(data, start, end):
        if kind in CONTAINERS:
            body = _rebuild(data, payload, box_end, edit)
        elif kind == b"stsd":
            body = data[payload:payload + 8]
            for entry_kind, entry, entry_payload, entry_end in _boxes(data, payload + 8, box_end):
                if entry_kind in (b"avc1", b"avc3"):
                    fixed = entry_payload + VISUAL_ENTRY_HEADER
                    inner = data[entry_payload:fixed] + _rebuild(data, fixed, entry_end, edit)
                    body += struct.pack(">I4s", 8 + len(inner), entry_kind) + inner
                else:
                    body += data[entry:entry_end]
        else:
            replaced = edit(kind, data[payload:box_end])
            body = data[payload:box_end] if replaced is None else replaced
        if payload - box == 16 or len(body) + 8 > 0xFFFFFFFF:
            out += struct.pack(">I4sQ", 1, kind, len(body) + 16) + body
        else:
            out += struct.pack(">I4s", len(body) + 8, kind) + body
    return bytes(out)


def _shift_offsets(kind: bytes, payload: bytes, shift: int) -> bytes | None:
    if kind == b"stco":
        (count,) = struct.unpack_from(">I", payload, 4)
        offsets = [o + shift for o in struct.unpack_from(f">{count}I", payload, 8)]
        if offsets and max(offsets) > 0xFFFFFFFF:
            raise AvcCError("chunk offsets past 4 GiB in a 32-bit stco")
        return payload[:8] + struct.pack(f">{count}I", *offsets)
    if kind == b"co64":
        (count,) = struct.unpack_from(">I", payload, 4)
        offsets = [o + shift for o in struct.unpack_from(f">{count}Q", payload, 8)]
        return payload[:8] + struct.pack(f">{count}Q", *offsets)
    return None


def finish_mp4(path: Path, units: list[bytes]) -> int:
    """Rewrite `path` (moov after mdat, as FFmpeg writes it without +faststart) with every set of
    `units` in its H.264 avcC and moov in front of the media data. Returns how many sets were
    added; raises AvcCError (file untouched) when the layout or the sets do not allow it."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        top = []
        pos = 0
        while pos < size:
            fh.seek(pos)
            header = fh.read(16)
            box_size, kind = struct.unpack_from(">I4s", header)
            if box_size == 1:
                (box_size,) = struct.unpack_from(">Q", header, 8)
            elif box_size == 0:
                box_size = size - pos
            if box_size < 8:
                raise AvcCError(f"top-level box {kind!r} at {pos} has size {box_size}")
            top.append((kind, pos, pos + box_size))
            pos += box_size
        kinds = [k for k, _, _ in top]
        if kinds.count(b"moov") != 1 or b"mdat" not in kinds or kinds.index(b"moov") < kinds.index(b"mdat"):
            raise AvcCError(f"expected one moov after the media data, found {[k.decode(errors='replace') for k in kinds]}")
        _, moov_start, moov_end = top[kinds.index(b"moov")]
        fh.seek(moov_start)
        moov = fh.read(moov_end - moov_start)
    added = []

    def add_sets(kind: bytes, payload: bytes) -> bytes | None:
        if kind != b"avcC":
            return None
        merged = merged_avcc(payload, units)
        added.append(len(_parse_avcc(merged)[1]) + len(_parse_avcc(merged)[2])
                     - len(_parse_avcc(payload)[1]) - len(_parse_avcc(payload)[2]))
        return merged

    edited = _rebuild(moov, 0, len(moov), add_sets)
    if not added:
        raise AvcCError("no H.264 sample description (avcC) in the file")
    first_media = kinds.index(b"mdat")
    insert_at = top[first_media][1]  # moov goes where the media data started
    shifted = _rebuild(edited, 0, len(edited), lambda k, p: _shift_offsets(k, p, len(edited)))
    tmp = path.with_name(path.name + ".avcc")
    try:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            _copy(src, dst, 0, insert_at)
            dst.write(shifted)
            for kind, start, end in top[first_media:]:
                if kind != b"moov":
                    _copy(src, dst, start, end)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return sum(added)


def _copy(src, dst, start: int, end: int) -> None:
    src.seek(start)
    left = end - start
    while left > 0:
        block = src.read(min(COPY_BLOCK, left))
        if not block:
            raise AvcCError("the file ended early")
        dst.write(block)
        left -= len(block)


def avcc_sets(path: Path) -> list[bytes]:
    """The SPS and PPS NAL units in the first avcC of an MP4 (for checks and tests)."""
    data = Path(path).read_bytes()
    found: list[bytes] = []

    def grab(kind: bytes, payload: bytes) -> None:
        if kind == b"avcC" and not found:
            _, sps, pps, _ = _parse_avcc(payload)
            found.extend(sps + pps)
        return None

    for kind, _box, payload, end in _boxes(data, 0, len(data)):
        if kind == b"moov":
            _rebuild(data, payload, end, grab)
    return found


__all__ = ["AvcCError", "avcc_sets", "finish_mp4", "merged_avcc", "parameter_sets", "set_id", "split_annexb"]
