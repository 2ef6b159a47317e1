"""Real FFmpeg runs: every builtin preset on a 2 s clip, trims, scaling, odd sources, verification."""
from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from backend.media.binaries import ffmpeg_path, ffprobe_path
from backend.media.command import CommandError, Trim, build_command, expected_duration
from backend.media.presets import BUILTIN_PRESETS, builtin_preset, output_extension
from backend.media.probe import keyframe_times, probe
from backend.media.runner import run_ffmpeg
from backend.media.verify import VerificationError, verify_output
from backend.media.thumbnails import make_poster
from backend.media.webp import webp_info
from webp_frames import webp_to_ivf

SLOW = {"H.265 1080p", "AV1 720p"}


async def encode(src, dst, spec, trim, info=None, **verify_kw):
    info = info or probe(src)
    argv = build_command(src, dst, spec, trim, info, keyframe_lead=verify_kw.get("keyframe_lead"))
    await run_ffmpeg(argv, duration=expected_duration(trim, info, spec), output=dst)
    return verify_output(dst, spec, trim, info, **verify_kw)


def video_frames(path) -> int:
    out = subprocess.run(
        [ffprobe_path(), "-v", "error", "-select_streams", "v:0", "-count_packets",
         "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return int(out.strip())


@pytest.fixture(scope="module")
def clip_2s(media_dir):
    from backend.media.clips import generate_clip

    return generate_clip(media_dir / "two-seconds.mp4", duration=2, gop=25)


@pytest.mark.parametrize(
    "spec",
    [pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.name in SLOW else []) for p in BUILTIN_PRESETS],
)
async def test_every_builtin_preset_encodes(spec, clip_2s, out_dir):
    dst = out_dir / f"out{output_extension(spec)}"
    trim = Trim(0.0, None)
    out = await encode(clip_2s, dst, spec, trim)
    if spec.kind in ("video", "copy"):
        assert out.video and out.audio
        assert out.duration == pytest.approx(2.0, abs=0.1)
        assert (out.video.width, out.video.height) == (320, 240)  # small source: never upscaled
    if spec.kind == "video":
        codec = {"libx264": "h264", "libx265": "hevc", "libvpx-vp9": "vp9", "libsvtav1": "av1"}
        assert out.video.codec == codec[spec.video_codec]
        assert out.video.pix_fmt == "yuv420p"
    if spec.kind == "audio":
        assert out.video is None and out.audio.codec == {"aac": "aac", "libmp3lame": "mp3"}[spec.audio_codec]
        assert out.duration == pytest.approx(2.0, abs=0.1)
    if spec.kind == "image":
        assert out.video is not None and out.audio is None
        if spec.container == "jpg":
            assert out.video.codec == "mjpeg"
        else:
            assert out.duration == pytest.approx(2.0, abs=0.2)
            assert out.video.width <= 480
    if spec.container in ("mp4", "m4a"):
        head = dst.read_bytes()[:64]
        assert head.index(b"moov") < 64 or b"mdat" not in head  # faststart: moov before mdat


async def test_720p_from_1080p_keeps_aspect(clip_1080, out_dir):
    out = await encode(clip_1080, out_dir / "720.mp4", builtin_preset("H.264 720p"), Trim(0, 1))
    assert (out.video.width, out.video.height) == (1280, 720)


async def test_720p_never_upscales_small_source(clip_av, out_dir):
    out = await encode(clip_av, out_dir / "small.mp4", builtin_preset("H.264 720p"), Trim(0, 1))
    assert (out.video.width, out.video.height) == (320, 240)


async def test_odd_sources_get_even_sizes(clip_odd, clip_odd_px, out_dir):
    out = await encode(clip_odd, out_dir / "odd.mp4", builtin_preset("H.264 720p"), None)
    assert (out.video.width, out.video.height) == (1280, 720) and out.audio is None
    out = await encode(clip_odd_px, out_dir / "oddpx.mp4", builtin_preset("H.264 480p"), None)
    assert (out.video.width, out.video.height) == (320, 240)


async def test_rotated_source_is_upright_in_output(clip_rotated, out_dir):
    out = await encode(clip_rotated, out_dir / "rot.mp4", builtin_preset("H.264 480p"), Trim(0, 1))
    assert (out.video.display_width, out.video.display_height) == (240, 320)


@pytest.mark.parametrize("start, end, frames", [(1.0, 2.0, 25), (0.52, 1.8, 32), (0.3, 2.7, 60)])
async def test_frame_accurate_trim_has_exact_frame_count(clip_av, out_dir, start, end, frames):
    assert frames == round((end - start) * 25)
    out = await encode(clip_av, out_dir / "acc.mp4", builtin_preset("H.264 480p"), Trim(start, end))
    assert video_frames(out_dir / "acc.mp4") == frames
    assert out.duration == pytest.approx(end - start, abs=0.05)


async def test_keyframe_copy_trim_starts_at_previous_keyframe(clip_av, out_dir):
    spec = builtin_preset("Trim only (stream copy)")
    trim = Trim(1.5, 2.5)
    keyframes = keyframe_times(clip_av)
    lead = trim.start - max(k for k in keyframes if k <= trim.start)
    assert lead == pytest.approx(0.5)
    out = await encode(clip_av, out_dir / "copy.mp4", spec, trim, keyframe_lead=lead)
    assert 1.0 - 0.05 <= out.duration <= 1.0 + lead + 0.1
    assert out.video.codec == "h264" and out.audio.codec == "aac"
    assert keyframe_times(out_dir / "copy.mp4")[0] < 0.05  # starts on a keyframe: plays at once


@pytest.mark.parametrize("name", ["h264-gop2-mp4", "h264-gop2-ts"])
async def test_keyframe_copy_of_a_b_frame_source_keeps_the_whole_range(tmp_path, name):
    # B-frames put a keyframe's decode time before its presentation time: the copy must still
    # begin at the keyframe before the in point (not one GOP later) and reach the out point
    from backend.media.probe import keyframe_lead
    from smartcut_sources import gray_frame, make_source, mean_abs_diff

    src = make_source(tmp_path, name)
    spec = builtin_preset("Trim only (stream copy)")
    trim = Trim(2.52, 6.2)  # keyframes every 2 s: the copy starts at 2.0
    lead = keyframe_lead(src, trim.start)
    assert lead == pytest.approx(0.52, abs=0.03)
    out = await encode(src, tmp_path / "copy.mp4", spec, trim, keyframe_lead=lead)
    frames = video_frames(tmp_path / "copy.mp4")
    wanted = 155 - 50  # source frames 50 (the keyframe at 2.0 s) to 154 (the last before 6.2 s)
    assert wanted <= frames <= wanted + out.video.reorder_delay + 1
    # first frame: the source's keyframe at 2.0 s (frame 50); frame wanted-1: the one before the out point
    assert mean_abs_diff(gray_frame(tmp_path / "copy.mp4", 0), gray_frame(src, 50)) < 1.0
    assert mean_abs_diff(gray_frame(tmp_path / "copy.mp4", wanted - 1), gray_frame(src, 154)) < 1.0


async def test_audio_extraction(clip_av, out_dir):
    out = await encode(clip_av, out_dir / "sound.m4a", builtin_preset("AAC audio"), Trim(0.5, 2.5))
    assert out.video is None and out.audio.codec == "aac"
    assert out.duration == pytest.approx(2.0, abs=0.1)


async def test_audio_preset_on_silent_source_is_refused(clip_video_only, out_dir):
    with pytest.raises(CommandError):
        await encode(clip_video_only, out_dir / "x.mp3", builtin_preset("MP3 audio"), None)


async def test_video_preset_on_silent_source_drops_audio_map(clip_video_only, out_dir):
    out = await encode(clip_video_only, out_dir / "v.webm", builtin_preset("VP9 720p WebM"), None)
    assert out.audio is None and out.video.codec == "vp9"


async def test_video_preset_on_audio_only_source_gives_audio(clip_audio_only, out_dir):
    out = await encode(clip_audio_only, out_dir / "a.mp4", builtin_preset("H.264 480p"), None)
    assert out.video is None and out.audio.codec == "aac"


async def test_gif_preview_is_an_animation(clip_1080, out_dir):
    out = await encode(clip_1080, out_dir / "p.gif", builtin_preset("GIF preview"), Trim(0.5, 2.0))
    assert out.video.codec == "gif" and (out.video.width, out.video.height) == (480, 270)
    assert video_frames(out_dir / "p.gif") == 18  # 1.5 s at 12 fps
    assert out.duration == pytest.approx(1.5, abs=0.15)


async def test_webp_preview_is_a_decodable_animation(clip_1080_moving, out_dir):
    dst = out_dir / "p.webp"
    out = await encode(clip_1080_moving, dst, builtin_preset("WebP preview"), Trim(0, 1.0))
    assert dst.read_bytes()[:4] == b"RIFF" and dst.read_bytes()[8:16] == b"WEBPVP8X"
    meta = webp_info(dst)
    assert (meta["width"], meta["height"], meta["frames"]) == (480, 270, 12)
    assert meta["duration"] == pytest.approx(1.0, abs=0.05)
    assert out.video.nb_frames == 12
    # every frame is a decodable VP8 key frame
    ivf = out_dir / "frames.ivf"
    ivf.write_bytes(webp_to_ivf(dst.read_bytes()))
    decoded = subprocess.run(
        [ffmpeg_path(), "-v", "error", "-i", str(ivf), "-f", "null", "-"], capture_output=True, text=True
    )
    assert decoded.returncode == 0 and not decoded.stderr.strip()
    assert video_frames(ivf) == 12
    # ffprobe cannot size animated WebP; probe() reads it itself, and posters still work
    info = probe(dst)
    assert (info.format_name, info.video.codec, info.video.width, info.video.nb_frames) == ("webp", "webp", 480, 12)
    poster = await make_poster(dst, out_dir / "webp-poster.jpg", info)
    assert probe(poster).video.width == 320


async def test_webp_preview_of_a_still_source_keeps_its_length(clip_1080, out_dir):
    """libwebp stores identical consecutive frames once, with their durations added: colour bars
    become fewer, longer frames, still 1 s long and still an animation file."""
    dst = out_dir / "still.webp"
    out = await encode(clip_1080, dst, builtin_preset("WebP preview"), Trim(0, 1.0))
    meta = webp_info(dst)
    assert (meta["width"], meta["height"]) == (480, 270) and 1 <= meta["frames"] <= 12
    assert meta["duration"] == pytest.approx(1.0, abs=0.05) and out.duration == pytest.approx(1.0, abs=0.05)


async def test_awkward_names_end_to_end(weird_clips, out_dir, monkeypatch):
    monkeypatch.chdir(next(iter(weird_clips.values())).parent)
    out = await encode(Path("-starts-with-dash.mp4"), Path("out:colon é.mp4"), builtin_preset("H.264 480p"),
                       Trim(0, 1), info=probe(Path("has:colon.mp4")))
    assert out.video.codec == "h264"
    assert (Path.cwd() / "out:colon é.mp4").exists()


def test_verification_messages(clip_av, clip_video_only, out_dir):
    spec = builtin_preset("H.264 480p")
    av, silent = probe(clip_av), probe(clip_video_only)
    with pytest.raises(VerificationError, match="output has no audio stream"):
        verify_output(clip_video_only, spec, Trim(0, 2), av)
    with pytest.raises(VerificationError, match=r"output is 2\.00 s long but 1\.00 s was requested"):
        verify_output(clip_video_only, spec, Trim(0, 1), silent)
    empty = out_dir / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VerificationError, match=r"0 bytes.*1\.00 s was requested"):
        verify_output(empty, spec, Trim(0, 1), av)
    with pytest.raises(VerificationError, match="missing"):
        verify_output(out_dir / "nope.mp4", spec, Trim(0, 1), av)
    with pytest.raises(VerificationError, match="320x240 but 240x320"):
        rotated = replace(av, video=replace(av.video, rotation=90))
        verify_output(clip_av, spec, None, rotated)


async def test_header_only_output_is_caught(clip_av, out_dir):
    """ffmpeg exits 0 writing an mp4 with no samples when nothing is in range; verify says so."""
    dst = out_dir / "nothing.mp4"
    subprocess.run([ffmpeg_path(), "-v", "error", "-y", "-i", str(clip_av), "-t", "0", "-c", "copy", str(dst)],
                   check=True)
    with pytest.raises(VerificationError, match=r"output is 0\.00 s long but 2\.00 s was requested"):
        verify_output(dst, builtin_preset("Trim only (stream copy)"), Trim(1, 3), probe(clip_av), keyframe_lead=0.0)


async def test_poster_at_the_last_frame_still_gives_a_picture(clip_av, out_dir):
    info = probe(clip_av)
    out = await encode(clip_av, out_dir / "last.jpg", builtin_preset("Poster JPEG"), Trim(info.duration - 0.01))
    assert (out.video.codec, out.video.width) == ("mjpeg", 320)
