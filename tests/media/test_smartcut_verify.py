"""The smart cut's own checks refuse outputs that are not what was asked for: a frame too few or too
many, a "copied" part whose packets are not the source's, re-encoded edges that are not the
source's pictures, an output that does not decode. Each case is a real file and a real source."""
from __future__ import annotations

import subprocess
from dataclasses import replace

import pytest

from backend.media.binaries import ffmpeg_path
from backend.media.smartcut import read_stream
from backend.media.smartcut_verify import SmartCutVerificationError, verify_smartcut
from smartcut_sources import smart_cut_three_parts


@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verify")
    src, dst, result = smart_cut_three_parts(folder)
    return folder, src, dst, result.plan, read_stream(src)


def test_the_cut_itself_passes(cut):
    _folder, src, dst, plan, stream = cut
    checks = verify_smartcut(dst, src, plan, stream, audio_expected=True)
    assert checks["frames"] == plan.frames == 102 and checks["copied_frames"] == 100
    assert checks["min_ssim"] >= 0.98


def test_a_frame_count_other_than_the_range_is_refused(cut):
    _folder, src, dst, plan, stream = cut
    longer = replace(plan, frames=plan.frames + 1)
    with pytest.raises(SmartCutVerificationError, match="has 102 frames, the range holds 103"):
        verify_smartcut(dst, src, longer, stream, audio_expected=True)


def test_a_reencoded_middle_is_not_a_copy(cut, tmp_path):
    _folder, src, dst, plan, stream = cut
    again = tmp_path / "again.mp4"  # same frames, same count, but every packet encoded anew
    subprocess.run([ffmpeg_path(), "-v", "error", "-y", "-i", str(dst), "-c:v", "libx264", "-crf", "10",
                    "-preset", "ultrafast", "-c:a", "copy", str(again)], check=True, timeout=120)
    with pytest.raises(SmartCutVerificationError, match="not bit-identical"):
        verify_smartcut(again, src, plan, stream, audio_expected=True)


def test_edges_from_another_picture_fail_the_ssim(cut, tmp_path):
    folder, _src, dst, plan, stream = cut
    other = tmp_path / "other.mp4"  # same layout and keyframes, other pictures (a flat colour)
    subprocess.run([ffmpeg_path(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=teal:size=320x240:rate=25:d=8",
                    "-c:v", "libx264", "-g", "50", "-bf", "3", "-pix_fmt", "yuv420p", str(other)],
                   check=True, timeout=120)
    with pytest.raises(SmartCutVerificationError, match="SSIM"):
        verify_smartcut(dst, other, plan, stream, audio_expected=False)


def test_an_output_that_does_not_decode_is_refused(cut, tmp_path):
    _folder, src, dst, plan, stream = cut
    data = bytearray(dst.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4000] = bytes(4000)  # zeros over the copied GOPs' slices
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(bytes(data))
    with pytest.raises(SmartCutVerificationError, match="does not decode cleanly|not bit-identical"):
        verify_smartcut(broken, src, plan, stream, audio_expected=True)
