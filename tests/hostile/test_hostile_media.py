"""Hostile and unusual media through the real app: upload over GraphQL, then a job on the local
executor. A file that is no media at all is refused and not kept; damaged media ends as an ERROR
asset with a readable reason and jobs on it are refused;
usable oddities (odd sizes, rotation, variable frame rate, high bit depth, other containers,
a 0.2 s clip, audio-only, video-only) give correct outputs, checked with ffprobe.
"""
from __future__ import annotations

import subprocess

import pytest

from backend.media.binaries import ffmpeg_path
from backend.media.probe import probe


BAD = {
    "empty": "empty file (0 bytes)",
    "truncated_moov_end": "truncated",
    "truncated_moov_front": "truncated",
}


async def test_non_media_upload_is_refused_and_not_kept(app, hostile_clips):
    """Text named like a video is no media at all: refused by probing (issue 14), not kept as an asset."""
    resp = await app.upload(hostile_clips["text"].read_bytes(), "bad-text.mp4")
    assert resp.status_code == 200, resp.text[:1000]
    body = resp.json()
    err = body["errors"][0]
    assert body["data"] is None and err["extensions"]["code"] == "NOT_MEDIA", body
    assert "not a media file" in err["message"] and "Traceback" not in err["message"]
    assert not (app.layout.in_root / "bad-text.mp4").exists()


@pytest.mark.parametrize("which", sorted(BAD))
async def test_unusable_upload_is_an_error_asset_and_refuses_jobs(app, hostile_clips, which):
    asset = await app.upload_ok(hostile_clips[which].read_bytes(), f"bad-{which}.mp4")
    assert asset["status"] == "ERROR" and BAD[which] in asset["errorMessage"], asset
    assert "Traceback" not in asset["errorMessage"] and len(asset["errorMessage"]) < 300
    presets = await app.presets_by_name()
    err = await app.gql_error("mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
                              {"input": {"sourceId": asset["id"], "presetId": presets["H.264 720p"]}})
    assert err["extensions"]["code"] == "ASSET_NOT_READY" and BAD[which] in err["message"], err


def can_decode(path) -> bool:
    out = subprocess.run([ffmpeg_path(), "-v", "error", "-nostdin", "-i", str(path), "-frames:v", "1", "-f", "null", "-"],
                         capture_output=True, text=True)
    return out.returncode == 0 and not out.stderr.strip()


async def run(app, clip, preset: str, **job) -> tuple[dict, dict]:
    """Upload `clip`, run one job with `preset`; (job, ffprobe of the output file)."""
    asset = await app.upload_ok(clip.read_bytes(), f"src-{clip.name}")
    assert asset["status"] == "READY", asset
    presets = await app.presets_by_name()
    created = await app.create_job(asset["id"], presets[preset], **job)
    done = await app.wait_job(created["id"], timeout=180)
    assert done["status"] == "SUCCEEDED", (done["error"], done["logTail"][-800:])
    out = done["outputAsset"]
    return done, probe(app.layout.out_root / out["storageKey"])


# (clip, preset, (width, height) expected in the output or None for "fits 1280x720, even")
VALID = [
    ("odd", "H.264 720p", None),
    ("rotated", "H.264 720p", (240, 320)),  # turned upright: portrait
    ("vfr", "H.264 720p", (320, 240)),
    ("h264_10bit", "H.264 720p", (320, 240)),
    ("h264_422_10bit", "H.264 720p", (320, 240)),
    ("hevc_444", "H.264 720p", (320, 240)),
    ("hevc_10bit", "H.264 720p", (320, 240)),
    ("mkv", "H.264 480p", (320, 240)),
    ("mov", "H.264 480p", (320, 240)),
    ("webm", "H.264 480p", (320, 240)),
    ("webm", "VP9 720p WebM", (320, 240)),
    ("short", "H.264 720p", (320, 240)),
    ("video_only", "H.264 720p", (320, 240)),
]


@pytest.mark.parametrize("which, preset, size", VALID, ids=[f"{c}-{p}" for c, p, _ in VALID])
async def test_odd_but_valid_sources_give_playable_outputs(app, hostile_clips, which, preset, size):
    source = probe(hostile_clips[which])
    if which == "hevc_10bit":  # the source really is Main 10 HEVC
        assert (source.video.codec, source.video.pix_fmt) == ("hevc", "yuv420p10le"), source.video
    done, out = await run(app, hostile_clips[which], preset)
    v = out.video
    assert v is not None and v.width % 2 == 0 and v.height % 2 == 0, v
    if size is None:
        assert v.width <= 1280 and v.height <= 720 and v.width == 1280, v
        assert abs(v.width / v.height - source.video.width / source.video.height) < 0.01
    else:
        assert (v.width, v.height) == size, v
    assert v.rotation == 0 and v.pix_fmt == "yuv420p", v  # upright pixels, 8-bit 4:2:0 plays everywhere
    assert v.codec == ("vp9" if "VP9" in preset else "h264")
    assert abs(out.duration - source.duration) < 0.15, (out.duration, source.duration)
    assert (out.audio is None) == (source.audio is None)
    assert done["outputAsset"]["width"] == v.width


async def test_audio_only_source(app, hostile_clips):
    presets = await app.presets_by_name()
    asset = await app.upload_ok(hostile_clips["audio_only"].read_bytes(), "song.m4a")
    assert asset["status"] == "READY" and asset["width"] is None
    err = await app.gql_error("mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
                              {"input": {"sourceId": asset["id"], "presetId": presets["H.264 720p"]}})
    assert err["extensions"]["code"] == "INVALID_PRESET" and "no video" in err["message"]
    _, out = await run(app, hostile_clips["audio_only"], "AAC audio")
    assert out.video is None and out.audio.codec == "aac" and abs(out.duration - 1.5) < 0.1


async def test_video_only_source_refuses_audio_presets(app, hostile_clips):
    presets = await app.presets_by_name()
    asset = await app.upload_ok(hostile_clips["video_only"].read_bytes(), "silent.mp4")
    err = await app.gql_error("mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
                              {"input": {"sourceId": asset["id"], "presetId": presets["MP3 audio"]}})
    assert err["extensions"]["code"] == "INVALID_PRESET" and "no audio" in err["message"]


async def test_short_clip_trims(app, hostile_clips):
    """0.2 s = 5 frames: a one-frame selection works, a selection shorter than a frame is refused."""
    presets = await app.presets_by_name()
    asset = await app.upload_ok(hostile_clips["short"].read_bytes(), "blink.mp4")
    q = "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }"
    err = await app.gql_error(q, {"input": {"sourceId": asset["id"], "presetId": presets["H.264 720p"],
                                            "trimStart": 0.1, "trimEnd": 0.11}})
    assert err["extensions"]["code"] == "INVALID_TRIM" and "shorter than one frame" in err["message"]
    job = await app.create_job(asset["id"], presets["H.264 720p"], trimStart=0.08, trimEnd=0.12)
    done = await app.wait_job(job["id"], timeout=120)
    assert done["status"] == "SUCCEEDED", done["error"]
    assert 0.02 < done["outputAsset"]["duration"] < 0.1


async def test_av1_source_decodes_or_says_why(app, hostile_clips):
    """AV1 10-bit: converted when this FFmpeg can decode AV1; else the job fails saying so (the
    bundled static build encodes AV1 but has no software AV1 decoder)."""
    clip = hostile_clips["av1_10bit"]
    asset = await app.upload_ok(clip.read_bytes(), "av1.mp4")
    assert asset["status"] == "READY", asset
    job = await app.create_job(asset["id"], (await app.presets_by_name())["H.264 720p"])
    done = await app.wait_job(job["id"], timeout=120)
    if can_decode(clip):
        assert done["status"] == "SUCCEEDED", done["error"]
        assert probe(app.layout.out_root / done["outputAsset"]["storageKey"]).video.pix_fmt == "yuv420p"
    else:
        assert done["status"] == "FAILED" and "AV1" in done["error"], done["error"]
        assert not list(app.layout.out_root.glob(".partial-*"))
