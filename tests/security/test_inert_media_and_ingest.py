"""Stored XSS and ingest bombs against a real `mpr up` (issue 14): an HTML upload is refused by
probing, a non-media file forced into storage is served as an inert attachment, a 16000×16000
picture is refused at probe with a message, and every FFmpeg/ffprobe the server starts runs with
an address-space limit and without the server's secrets.
"""
from __future__ import annotations

import io
import time

import httpx
import pytest
from PIL import Image

from backend.media.clips import generate_clip

from security_stack import ENCODE_MB, PROBE_MB, SECRETS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

HTML = b"<!doctype html><html><body><script>fetch('/graphql')</script>stored xss</body></html>\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.domain)</script></svg>\n'


def test_html_upload_is_refused_and_not_kept(stack):
    for name, content in (("evil.html", HTML), ("evil.svg", SVG), ("evil.mp4", HTML), ("evil.jpg", HTML)):
        body = stack.upload(content, name)
        assert body["data"] is None, body
        err = body["errors"][0]
        assert err["extensions"]["code"] == "NOT_MEDIA", err
        assert f"{name} was refused and not kept" in err["message"] and "not a media file" in err["message"], err
        assert not list(stack.in_root.glob("evil*")), name
    assert not [a for a in stack.assets() if a["filename"].startswith("evil")]


def test_non_media_forced_into_storage_is_served_inertly(stack):
    forced = stack.in_root / "forced"
    forced.mkdir(exist_ok=True)
    (forced / "page.html").write_bytes(HTML)
    (forced / "drawing.svg").write_bytes(SVG)
    (forced / "page-as-video.mp4").write_bytes(HTML)
    scan = stack.gql('mutation { scanMediaFolder(prefix: "forced") { added errors } }')
    assert scan["data"]["scanMediaFolder"] == {"added": 3, "errors": 3}, scan
    by_key = {a["storageKey"]: a for a in stack.assets() if a["storageKey"].startswith("forced/")}
    assert all(a["status"] == "ERROR" and "not a media file" in a["errorMessage"] for a in by_key.values()), by_key
    with httpx.Client(timeout=30) as http:
        for key in ("forced/page.html", "forced/drawing.svg"):
            resp = http.get(str(httpx.URL(stack.url).join(by_key[key]["mediaUrl"])))
            assert resp.status_code == 200 and resp.content == (HTML if key.endswith("html") else SVG)
            assert resp.headers["content-type"] == "application/octet-stream", key
            assert resp.headers["content-disposition"].startswith("attachment;"), key
            assert resp.headers["x-content-type-options"] == "nosniff"
            assert resp.headers["content-security-policy"] == "sandbox"
        video = http.get(str(httpx.URL(stack.url).join(by_key["forced/page-as-video.mp4"]["mediaUrl"])))
        assert video.headers["content-type"] == "video/mp4" and "content-disposition" not in video.headers
        assert video.headers["x-content-type-options"] == "nosniff"  # never sniffed into HTML
        assert video.headers["content-security-policy"] == "sandbox"


def _huge_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("L", (16000, 16000), 128).save(out, format="JPEG", quality=30)
    return out.getvalue()


def test_huge_picture_is_refused_at_probe(stack):
    huge = _huge_jpeg()
    body = stack.upload(huge, "bomb.jpg")
    err = body["errors"][0]
    assert err["extensions"]["code"] == "SOURCE_TOO_LARGE", err
    assert "16000×16000" in err["message"] and "MPR_MAX_PIXELS" in err["message"], err
    assert not list(stack.in_root.glob("bomb*"))
    # the same file put into the folder: an asset in error with the reason, no thumbnail attempted
    (stack.in_root / "bomb-scanned.jpg").write_bytes(huge)
    stack.gql("mutation { scanMediaFolder { added } }")
    asset = next(a for a in stack.assets() if a["storageKey"] == "bomb-scanned.jpg")
    assert asset["status"] == "ERROR" and "picture too large: 16000×16000" in asset["errorMessage"], asset
    bomb_runs = [r for r in stack.ffmpeg_runs() if "bomb" in r["argv"]]
    assert bomb_runs and {r["bin"] for r in bomb_runs} == {"ffprobe-wrapper"}, bomb_runs


def _wait_job(stack, job_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = stack.gql('query($id: ID!) { job(id: $id) { id status error } }', {"id": job_id})["data"]["job"]
        if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED") or time.monotonic() > deadline:
            return job
        time.sleep(0.5)


def test_every_ffmpeg_child_is_bounded_and_holds_no_secret(stack, tmp_path):
    clip = tmp_path / "small.mp4"
    generate_clip(clip, duration=1.0, width=160, height=120, fps=25, gop=25)
    asset = stack.upload(clip.read_bytes(), "small.mp4")["data"]["uploadAsset"]
    assert asset["status"] == "READY" and asset["posterUrl"], asset
    presets = {p["name"]: p["id"] for p in stack.gql("{ presets { id name } }")["data"]["presets"]}
    created = stack.gql("mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
                        {"input": {"sourceId": asset["id"], "presetId": presets["H.264 720p"]}})
    assert not created.get("errors"), created
    job = _wait_job(stack, created["data"]["createJob"]["id"])
    assert job["status"] == "SUCCEEDED", job

    runs = stack.ffmpeg_runs()
    probe_kib, encode_kib = str(PROBE_MB * 1024), str(ENCODE_MB * 1024)
    assert runs, "the recording wrappers saw no FFmpeg run"
    assert all(r["as"] in (probe_kib, encode_kib) for r in runs), sorted({r["as"] for r in runs})
    assert any(r["as"] == probe_kib and "small" in r["argv"] for r in runs)  # probe + thumbnails
    assert all(r["as"] == probe_kib for r in runs if r["bin"] == "ffprobe-wrapper")
    encodes = [r for r in runs if r["as"] == encode_kib]
    assert encodes and all(r["bin"] == "ffmpeg-wrapper" and "small" in r["argv"] for r in encodes), encodes
    for r in runs:
        names = {line.split("=", 1)[0] for line in r["env"].splitlines() if "=" in line}
        assert not names & set(SECRETS), names & set(SECRETS)
        assert not any(value in r["env"] for value in SECRETS.values())
