"""probe(): typed MediaInfo for good clips, readable ProbeError for the inputs ffprobe waves through."""
from __future__ import annotations

import functools
import http.server
import json
import subprocess
import threading

import pytest

from backend.media import probe as probe_module
from backend.media.binaries import ffprobe_path
from backend.media.paths import ff_target, is_url
from backend.media.clips import generate_clip
from backend.media.probe import (
    MediaInfo, ProbeError, keyframe_lead, keyframe_times, keyframes_before, lead_from_keyframes, probe, probe_async,
)


def test_probe_h264_aac(clip_av):
    info = probe(clip_av)
    assert "mp4" in info.format_name
    assert info.duration == pytest.approx(3.0, abs=0.05)
    assert info.size == clip_av.stat().st_size
    assert info.bit_rate and info.bit_rate > 0
    v, a = info.video, info.audio
    assert (v.codec, v.width, v.height, v.fps, v.rotation, v.pix_fmt) == ("h264", 320, 240, 25.0, 0, "yuv420p")
    assert v.nb_frames == 75
    assert (a.codec, a.channels, a.sample_rate) == ("aac", 2, 48000)


def test_probe_vp9_opus_webm(clip_webm):
    info = probe(clip_webm)
    assert "webm" in info.format_name
    assert (info.video.codec, info.audio.codec) == ("vp9", "opus")
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_probe_audio_only(clip_audio_only):
    info = probe(clip_audio_only)
    assert info.video is None and not info.has_video
    assert info.audio.codec == "aac"
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_probe_video_only(clip_video_only):
    info = probe(clip_video_only)
    assert info.audio is None and info.video.codec == "h264"


def test_probe_unusual_sizes(clip_odd, clip_odd_px):
    assert (probe(clip_odd).video.width, probe(clip_odd).video.height) == (1918, 1078)
    v = probe(clip_odd_px).video
    assert (v.width, v.height, v.pix_fmt) == (321, 241, "yuv444p")


def test_probe_rotation_from_display_matrix(clip_rotated):
    v = probe(clip_rotated).video
    assert (v.width, v.height, v.rotation) == (320, 240, 90)
    assert (v.display_width, v.display_height) == (240, 320)


@pytest.mark.parametrize("name", ["my clip é 日本.mp4", "-starts-with-dash.mp4", "has:colon.mp4", "50% done #1.mp4"])
def test_probe_awkward_names(weird_clips, name, monkeypatch):
    path = weird_clips[name]
    monkeypatch.chdir(path.parent)
    from pathlib import Path

    info = probe(Path(name))  # relative: would be read as an option / a protocol without care
    assert info.video.codec == "h264"


@pytest.mark.parametrize(
    "which, reason",
    [
        ("empty", "empty file (0 bytes)"),
        ("text", "not a media file"),
        ("truncated_moov_front", "truncated"),
        ("truncated_moov_end", "truncated"),
        ("truncated_webm", "truncated"),
    ],
)
def test_probe_refuses_bad_files(bad_files, which, reason):
    with pytest.raises(ProbeError) as err:
        probe(bad_files[which])
    assert reason in str(err.value)
    assert "Traceback" not in str(err.value)


async def test_probe_async_matches_and_refuses(clip_av, bad_files):
    assert await probe_async(clip_av) == probe(clip_av)
    with pytest.raises(ProbeError, match="truncated"):
        await probe_async(bad_files["truncated_moov_front"])


def test_probe_missing_file(tmp_path):
    with pytest.raises(ProbeError, match="file not found"):
        probe(tmp_path / "nope.mp4")


def test_media_info_dict_round_trip(clip_av):
    info = probe(clip_av)
    d = info.to_dict()
    assert d["video"]["width"] == 320
    assert MediaInfo.from_dict({**d, "unknown": 1}) == info
    audio_only = MediaInfo.from_dict({**d, "video": None})
    assert audio_only.video is None and audio_only.audio == info.audio


def test_keyframe_times_from_packet_flags(clip_av):
    assert keyframe_times(clip_av) == [0.0, 1.0, 2.0]
    assert keyframe_times(clip_av, interval=(1.5, 1.6)) == [1.0]
    assert keyframe_lead(clip_av, 1.5) == pytest.approx(0.5) and keyframe_lead(clip_av, 0.0) == 0.0


async def test_keyframe_times_count_from_the_container_start(tmp_path):
    """MPEG-TS clocks start at 1.4 s: keyframe times and leads are counted as -ss counts, from there."""
    ts = generate_clip(tmp_path / "gop2.ts", duration=6.0, fps=25, gop=50)
    assert [round(t, 1) for t in keyframe_times(ts)] == [0.0, 2.0, 4.0]
    assert keyframe_lead(ts, 3.5) == pytest.approx(1.5, abs=0.03)  # the keyframe at 2.0, not at 3.4 (1.4 + 2.0)
    assert keyframe_lead(ts, 5.0) == pytest.approx(1.0, abs=0.03)
    assert keyframe_lead(tmp_path / "missing.ts", 3.0) is None  # unknown, not a guess
    # the thumbnail planner's lookup: on the same clock, always a real keyframe at or before the time
    # (a TS seek lands near its target, not on a keyframe, so it may be an earlier one)
    keys = set(keyframe_times(ts))
    for t, key in zip((0.5, 3.5, 5.5), await keyframes_before(ts, [0.5, 3.5, 5.5])):
        assert key in keys and key <= t, (t, key)


def test_lead_from_stored_keyframes_decides_only_what_it_can():
    keys = [0.0, 2.0, 4.0]
    assert lead_from_keyframes(keys, 3.5) == pytest.approx(1.5)
    assert lead_from_keyframes(keys, 2.0) == 0.0 and lead_from_keyframes(keys, 0.0) == 0.0
    assert lead_from_keyframes(keys, 5.0) == pytest.approx(1.0)  # past the last one: that one
    assert lead_from_keyframes(keys, 5.0, complete=False) is None  # a capped list may miss later ones
    assert lead_from_keyframes([], 3.0) is None and lead_from_keyframes(None, 3.0) is None
    assert lead_from_keyframes([1.0], 0.5) is None  # nothing at or before the in point: probe
    # a keyframe within the stored times' error of the decision (start + 1 ms): not decided here
    assert lead_from_keyframes(keys, 1.999) is None and lead_from_keyframes(keys, 1.9991) is None
    assert lead_from_keyframes(keys, 2.0009) == pytest.approx(0.0009)  # clear of it: decided
    assert lead_from_keyframes([0.0, 1500.0], 1400.0) is None  # rounding past the copy's 1 ms margin


@pytest.mark.parametrize("suffix", ["mp4", "ts"])
async def test_analysis_keyframes_give_the_probed_lead(tmp_path, suffix):
    """The keyframes the analysis pass stores on an asset spare a stream copy its ffprobe: they must
    give the lead the packets give (MPEG-TS counted from its 1.4 s clock start, as -ss counts)."""
    from backend.media.analysis import analyze

    clip = generate_clip(tmp_path / f"gop.{suffix}", duration=6.0, fps=25, gop=50)
    result = await analyze(str(clip), probe(clip))
    for start in (0.5, 2.3, 3.99, 5.5):
        stored = lead_from_keyframes(result.keyframes, start)
        assert stored is not None and stored == pytest.approx(keyframe_lead(clip, start), abs=1e-4), start


def test_probe_reads_headers_and_the_end_only(clip_av, clip_webm, clip_audio_only, monkeypatch):
    """Ingest needs many probes/s: one probe is ONE ffprobe run that decodes nothing and lists
    only the packets from the last keyframe on (the truncation check), not the whole file.
    Its speed is measured by `bench/scan.py --breakdown` (probe ms per file), not asserted here."""
    runs: list[tuple[list[str], str]] = []
    real_run = subprocess.run

    def recording(argv, *args, **kwargs):
        proc = real_run(argv, *args, **kwargs)
        runs.append((list(argv), proc.stdout))
        return proc

    monkeypatch.setattr(probe_module.subprocess, "run", recording)
    for path in (clip_av, clip_webm, clip_audio_only):
        runs.clear()
        probe(path)
        [(argv, out)] = runs
        assert not {"-show_frames", "-count_frames", "-count_packets"} & set(argv), argv
        assert "-read_intervals" in argv, argv
        packets = json.loads(out).get("packets", [])
        total_packets = len(all_packets(path))
        assert 0 < len(packets) <= total_packets, (path.name, len(packets), total_packets)
        if path == clip_av:  # a keyframe every second: the read starts at the last one, 1 s of 3
            assert len(packets) < total_packets / 2, (len(packets), total_packets)


def all_packets(path) -> list[str]:
    """Every packet of the file (all streams), counted by a separate ffprobe for the comparison."""
    out = subprocess.run(
        [ffprobe_path(), "-v", "error", "-show_entries", "packet=pts_time", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return [line for line in out.splitlines() if line.strip()]


def test_urls_pass_through_untouched():
    url = "https://bucket.s3.amazonaws.com/in/clip%20a.mp4?X-Amz-Signature=abc&X-Amz-Expires=900"
    assert is_url(url) and ff_target(url) == url
    assert not is_url("has:colon.mp4")
    assert ff_target("-x.mp4").startswith("/") and ff_target("a:b.mp4").endswith("/a:b.mp4")


@pytest.fixture(scope="module")
def http_root(media_dir):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(media_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_probe_http_url(http_root, clip_av):
    info = probe(f"{http_root}/{clip_av.name}?token=x")
    assert info.video.codec == "h264" and info.duration == pytest.approx(3.0, abs=0.05)


def test_probe_http_404_is_readable(http_root):
    with pytest.raises(ProbeError, match="404"):
        probe(f"{http_root}/missing.mp4")
