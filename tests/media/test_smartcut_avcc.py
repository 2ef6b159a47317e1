"""A smart cut's MP4 carries every part's H.264 parameter sets in its one sample description.

The check a Safari-class player makes, done with FFmpeg: strip every in-band SPS/PPS from the
samples (`filter_units`), so only the `avcC` is left to decode with. The smart cut must still decode
without an error to the same frames; the same file with only the first part's sets in its `avcC`
(what FFmpeg's muxer writes on its own) must not — that control keeps the test honest.
"""
from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from backend.media import avcc
from backend.media.binaries import ffmpeg_path
from backend.media.smartcut import HEAD_SPS_ID, TAIL_SPS_ID
from smartcut_sources import smart_cut_three_parts


@pytest.fixture(scope="module")
def smart_mp4(tmp_path_factory) -> Path:
    _src, dst, result = smart_cut_three_parts(tmp_path_factory.mktemp("avcc"))
    assert "avcC: 4 parameter set(s)" in result.log_tail
    return dst


def strip_in_band(src: Path, dst: Path) -> None:
    subprocess.run([ffmpeg_path(), "-v", "error", "-y", "-i", str(src), "-map", "0:v", "-c", "copy",
                    "-bsf:v", "filter_units=remove_types=7|8", str(dst)], check=True, timeout=60)


def decode(path: Path) -> tuple[str, list[str]]:
    """(FFmpeg's decode errors, the frames' md5s)."""
    proc = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(path), "-map", "0:v", "-f", "framemd5", "-"],
                          capture_output=True, text=True, timeout=60)
    return proc.stderr.strip(), [line.rsplit(",", 1)[-1].strip() for line in proc.stdout.splitlines()
                                 if line and not line.startswith("#")]


def top_level(path: Path) -> list[bytes]:
    data, kinds, pos = path.read_bytes(), [], 0
    while pos < len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        kinds.append(kind)
        pos += size
    return kinds


def first_sets_only(src: Path, dst: Path) -> None:
    """`src` again with an avcC holding only its first SPS and PPS (what the muxer alone writes)."""
    data = src.read_bytes()

    def keep_first(kind: bytes, payload: bytes) -> bytes | None:
        if kind != b"avcC":
            return None
        head, sps, pps, rest = avcc._parse_avcc(payload)
        return (head + bytes([0xE1]) + struct.pack(">H", len(sps[0])) + sps[0]
                + bytes([1]) + struct.pack(">H", len(pps[0])) + pps[0] + rest)

    out = bytearray()
    for kind, box, _payload, end in avcc._boxes(data, 0, len(data)):
        if kind != b"moov":
            out += data[box:end]
            continue
        moov = avcc._rebuild(data, box, end, keep_first)
        shift = len(moov) - (end - box)  # moov sits before mdat: the chunk offsets move with it
        out += avcc._rebuild(moov, 0, len(moov), lambda k, p: avcc._shift_offsets(k, p, shift))
    dst.write_bytes(bytes(out))


def test_every_part_has_its_sets_in_the_avcc_and_moov_comes_first(smart_mp4):
    sets = avcc.avcc_sets(smart_mp4)
    sps = [avcc.set_id(u) for u in sets if u[0] & 0x1F == avcc.SPS]
    pps = [avcc.set_id(u) for u in sets if u[0] & 0x1F == avcc.PPS]
    assert sps == [HEAD_SPS_ID, 0, TAIL_SPS_ID] and pps == [HEAD_SPS_ID, 0, TAIL_SPS_ID]
    kinds = top_level(smart_mp4)
    assert kinds.index(b"moov") < kinds.index(b"mdat"), kinds  # still a fast-start file


def test_decodes_from_the_sample_description_alone(smart_mp4, tmp_path):
    errors, frames = decode(smart_mp4)
    assert not errors and len(frames) == 102
    strip_in_band(smart_mp4, tmp_path / "stripped.mp4")
    assert avcc.avcc_sets(tmp_path / "stripped.mp4") == avcc.avcc_sets(smart_mp4)
    stripped_errors, stripped_frames = decode(tmp_path / "stripped.mp4")
    assert not stripped_errors
    assert stripped_frames == frames


def test_control_the_first_parts_sets_alone_do_not_decode_it(smart_mp4, tmp_path):
    first_sets_only(smart_mp4, tmp_path / "first.mp4")
    assert decode(tmp_path / "first.mp4") == decode(smart_mp4)  # in-band sets still carry it
    strip_in_band(tmp_path / "first.mp4", tmp_path / "first-stripped.mp4")
    errors, _ = decode(tmp_path / "first-stripped.mp4")
    assert "non-existing PPS" in errors


def test_two_different_sets_with_one_id_are_refused():
    sps = b"\x67\x64\x00\x1f\xac"  # profile 100, level 31, seq_parameter_set_id 0 (ue '1')
    config = bytes([1, 0x64, 0, 0x1F, 0xFF, 0xE1]) + struct.pack(">H", len(sps)) + sps + bytes([0])
    assert avcc.merged_avcc(config, [sps]) == config  # the same set again: nothing added
    with pytest.raises(avcc.AvcCError, match="two different SPS with id 0"):
        avcc.merged_avcc(config, [b"\x67\x4d\x00\x1f\xac"])


def test_split_annexb_finds_units_behind_three_and_four_byte_start_codes():
    stream = b"\x00\x00\x00\x01\x67\x01\x02\x00\x00\x01\x68\x03\x00\x00\x00\x01\x65\x04\x05"
    assert avcc.split_annexb(stream) == [b"\x67\x01\x02", b"\x68\x03", b"\x65\x04\x05"]
