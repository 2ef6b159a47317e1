"""build_command and friends, checked on the argv and on the numbers (no encoding here)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from backend.media.binaries import ffmpeg_path
from backend.media.command import (
    CommandError,
    Trim,
    TrimError,
    build_command,
    expected_duration,
    expected_streams,
    frame_count,
    output_size,
    resolve_trim,
)
from backend.media.presets import builtin_preset
from backend.media.probe import AudioInfo, MediaInfo, VideoInfo

H720 = builtin_preset("H.264 720p")
COPY = builtin_preset("Trim only (stream copy)")
AAC = builtin_preset("AAC audio")
GIF = builtin_preset("GIF preview")


def media(w=1920, h=1080, fps=25.0, rotation=0, audio=True, duration=10.0):
    return MediaInfo(
        "mov,mp4,m4a,3gp,3g2,mj2", duration, 1000, 1000,
        VideoInfo("h264", w, h, fps, rotation, "yuv420p", None) if w else None,
        AudioInfo("aac", 2, 48000) if audio else None,
    )


def after(argv, flag):
    return argv[argv.index(flag) + 1]


def test_argv_basics(tmp_path):
    argv = build_command(tmp_path / "in.mp4", tmp_path / "out.mp4", H720, Trim(2, 5), media())
    assert argv[0] == ffmpeg_path()
    assert after(argv, "-progress") == "pipe:1" and "-nostats" in argv and "-y" in argv
    assert argv.index("-ss") < argv.index("-i")  # input seeking
    assert after(argv, "-ss") == "2.000000"
    assert after(argv, "-movflags") == "+faststart"
    assert after(argv, "-pix_fmt") == "yuv420p"
    assert after(argv, "-c:v") == "libx264" and after(argv, "-crf") == "23"
    assert after(argv, "-frames:v") == "75"
    assert after(argv, "-vf") == "scale=1280:720:flags=lanczos"
    assert "0:v:0?" in argv and "0:a:0?" in argv
    assert argv[-3] == str(tmp_path / "out.mp4") or str(tmp_path / "out.mp4") in argv


def test_copy_trim_argv(tmp_path):
    argv = build_command(tmp_path / "in.mkv", tmp_path / "out.mp4", COPY, Trim(1.5, 4), media())
    assert argv.index("-ss") < argv.index("-i")
    assert after(argv, "-t") == "2.500000"
    assert after(argv, "-c") == "copy"
    assert after(argv, "-avoid_negative_ts") == "make_zero"
    assert "0:v:0?" in argv and "0:a:0?" in argv
    assert "-vf" not in argv


def test_awkward_names_become_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = build_command("-in.mp4", "out:put.mp4", H720, None, media())
    assert after(argv, "-i") == str(tmp_path / "-in.mp4")
    assert str(tmp_path / "out:put.mp4") in argv


def test_url_source_passes_untouched(tmp_path):
    url = "https://b.s3.amazonaws.com/a%20b.mp4?X-Amz-Signature=x&X-Amz-Date=y"
    argv = build_command(url, tmp_path / "o.mp4", H720, None, media())
    assert after(argv, "-i") == url


@pytest.mark.parametrize(
    "source, preset, size",
    [
        (media(1920, 1080), "H.264 720p", (1280, 720)),
        (media(1920, 1080), "H.264 480p", (854, 480)),
        (media(1920, 1080), "H.264 1080p", (1920, 1080)),
        (media(320, 240), "H.264 720p", (320, 240)),  # never upscale
        (media(320, 240), "H.264 1080p", (320, 240)),
        (media(1918, 1078), "H.264 720p", (1280, 720)),
        (media(321, 241), "H.264 720p", (320, 240)),  # even, still not larger
        (media(1920, 1080, rotation=90), "H.264 720p", (406, 720)),  # portrait display
        (media(3840, 1600), "H.264 720p", (1280, 534)),  # wide: width bound
        (media(1920, 1080), "GIF preview", (480, 270)),
    ],
)
def test_output_size_keeps_aspect_even_and_never_upscales(source, preset, size):
    got = output_size(builtin_preset(preset), source)
    assert got == size
    assert got[0] % 2 == 0 and got[1] % 2 == 0


def test_no_scale_filter_when_size_already_fits(tmp_path):
    argv = build_command(tmp_path / "i.mp4", tmp_path / "o.mp4", H720, None, media(320, 240))
    assert "-vf" not in argv


def test_fps_cap_adds_filter_only_when_lower(tmp_path):
    spec = replace(H720, fps=15)
    argv = build_command(tmp_path / "i.mp4", tmp_path / "o.mp4", spec, Trim(0, 2), media(fps=30))
    assert after(argv, "-vf").startswith("fps=15")
    assert after(argv, "-frames:v") == "30"
    argv = build_command(tmp_path / "i.mp4", tmp_path / "o.mp4", replace(H720, fps=60), Trim(0, 2), media(fps=30))
    assert "-vf" not in argv or "fps=" not in after(argv, "-vf")


def test_trim_resolution_and_errors():
    info = media(duration=10)
    assert resolve_trim(None, info) == (0.0, 10.0)
    assert resolve_trim(Trim(2, 50), info) == (2.0, 10.0)  # end clamped to the source
    assert expected_duration(Trim(2.5, 4), info) == pytest.approx(1.5)
    assert expected_duration(Trim(0, 30), info, GIF) == pytest.approx(10.0)  # animation cap
    assert expected_duration(Trim(3, 30), info, builtin_preset("Poster JPEG")) == 0.0
    assert frame_count(Trim(1.0, 2.0), H720, info) == 25
    assert frame_count(Trim(0.52, 1.8), H720, info) == 32
    with pytest.raises(TrimError, match="past the end"):
        resolve_trim(Trim(12, None), info)
    with pytest.raises(TrimError, match="after the start"):
        resolve_trim(Trim(5, 4), info)
    with pytest.raises(TrimError):
        resolve_trim(Trim(-1, 4), info)


def test_expected_streams_follow_source_and_preset(tmp_path):
    av, silent, audio_only = media(), media(audio=False), media(w=0)
    assert expected_streams(H720, av) == {"video", "audio"}
    assert expected_streams(H720, silent) == {"video"}
    assert expected_streams(AAC, av) == {"audio"}
    assert expected_streams(replace(H720, audio_codec="", audio_bitrate=None, channels=None), av) == {"video"}
    # preset with audio on a silent source: no audio map, no failure
    argv = build_command(tmp_path / "i.mp4", tmp_path / "o.mp4", H720, None, silent)
    assert "-an" in argv and "0:a:0?" not in argv
    # audio extraction drops video
    argv = build_command(tmp_path / "i.mp4", tmp_path / "o.m4a", AAC, None, av)
    assert "-vn" in argv and "0:v:0?" not in argv
    with pytest.raises(CommandError, match="needs an audio stream"):
        build_command(tmp_path / "i.mp4", tmp_path / "o.m4a", AAC, None, silent)
    with pytest.raises(CommandError, match="needs a video stream"):
        build_command(tmp_path / "i.m4a", tmp_path / "o.gif", GIF, None, audio_only)


def test_codec_specific_options(tmp_path):
    def argv_for(name):
        return build_command(tmp_path / "i.mp4", tmp_path / f"o{name}", builtin_preset(name), None, media())

    h265 = argv_for("H.265 1080p")
    assert after(h265, "-tag:v") == "hvc1" and "open-gop=0" in after(h265, "-x265-params")
    vp9 = argv_for("VP9 720p WebM")
    assert after(vp9, "-deadline") == "realtime" and after(vp9, "-b:v") == "0"
    assert "-movflags" not in vp9
    av1 = argv_for("AV1 720p")
    assert after(av1, "-preset") == "10" and after(av1, "-c:v") == "libsvtav1"
    mp3 = argv_for("MP3 audio")
    assert after(mp3, "-ar") == "44100" and after(mp3, "-c:a") == "libmp3lame"
    gif = argv_for("GIF preview")
    assert "palettegen" in after(gif, "-filter_complex")
    jpg = argv_for("Poster JPEG")
    assert after(jpg, "-frames:v") == "1" and after(jpg, "-update") == "1"
