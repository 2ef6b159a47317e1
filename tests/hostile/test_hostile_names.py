"""Hostile names and sizes through the real app: awkward source names and output names through a
real FFmpeg job, path-like upload names that must land as one plain file in the input folder,
and uploads over the size limit that must leave nothing behind.
"""
from __future__ import annotations

import os
import shutil

import httpx
import pytest

from backend.media.probe import probe


AWKWARD = ["with  two spaces.mp4", "ünïcødé 日本語 🎬.mp4", "-i.mp4", "--help.mp4", "colon:in:name.mp4",
           "file:clip.mp4", "50% done #1 & more?.mp4", "quote's \"and\" `tick`.mp4"]


async def test_awkward_source_and_output_names_run_through_ffmpeg(app, hostile_clips):
    for name in AWKWARD:
        shutil.copyfile(hostile_clips["good"], app.layout.in_root / name)
    assets = await app.scan()
    copy = (await app.presets_by_name())["Trim only (stream copy)"]
    out_names = ["-y", "../../escape", "a:b", "-f null", "😀 out"]
    jobs = []
    for i, name in enumerate(AWKWARD):
        assert assets[name]["status"] == "READY", assets[name]
        extra = {"outputName": out_names[i]} if i < len(out_names) else {}
        jobs.append(await app.create_job(assets[name]["id"], copy, trimStart=0.0, trimEnd=1.0, **extra))
    for job in jobs:
        done = await app.wait_job(job["id"], timeout=120)
        assert done["status"] == "SUCCEEDED", done["error"]
        key = done["outputAsset"]["storageKey"]
        assert "/" not in key and not key.startswith("."), key  # a leading "-" is a legal name: argv uses absolute paths
        out = app.layout.out_root / key
        assert out.resolve().parent == app.layout.out_root.resolve()
        assert abs(probe(out).duration - 1.0) < 0.1
    assert not list(app.root.glob("escape*")) and not list(app.media_root.glob("escape*"))


HOSTILE_UPLOAD_NAMES = ["../../etc/passwd", "/etc/passwd", "..\\..\\boot.ini", "....//....//x.mp4", "..", ".", "",
                        "a" * 400 + ".mp4", "<script>alert(1)</script>.mp4", "nul\x00byte.mp4", "-rf --no-preserve-root",
                        "C:\\Windows\\system32\\evil.mp4", "con.mp4", "name\nwith\nnewlines.mp4"]


def listing(folder) -> list[str]:
    """The folder's entries, less SQLite's -wal/-shm files, which come and go with checkpoints."""
    return sorted(n for n in os.listdir(folder) if not n.endswith(("-wal", "-shm", "-journal")))


@pytest.mark.parametrize("name", HOSTILE_UPLOAD_NAMES, ids=range(len(HOSTILE_UPLOAD_NAMES)))
async def test_upload_names_become_one_plain_file(app, hostile_clips, name):
    before_root = listing(app.root)
    before_media = listing(app.media_root)
    asset = await app.upload_ok(hostile_clips["good"].read_bytes(), "x.mp4", name_arg=name)
    key = asset["storageKey"]
    assert key and "/" not in key and "\\" not in key and not key.startswith("."), key
    assert "\x00" not in key and "\n" not in key and "<" not in key and len(key) <= 200, key
    stored = app.layout.in_root / key
    assert stored.resolve().parent == app.layout.in_root.resolve() and stored.stat().st_size == hostile_clips["good"].stat().st_size
    assert asset["status"] == "READY", asset
    assert listing(app.root) == before_root and listing(app.media_root) == before_media


async def test_uploads_over_the_limit_leave_nothing(app):
    before = sorted(os.listdir(app.layout.in_root))
    count = (await app.gql("{ assets(first: 1) { totalCount } }"))["assets"]["totalCount"]
    limit = int(app.env["MPR_MAX_UPLOAD_BYTES"])
    for size in (limit + 1, 3 * limit):
        try:
            resp = await app.upload(os.urandom(1024) * (size // 1024 + 1), "big.mp4")
        except httpx.HTTPError:
            continue  # the server may close the connection while the body still streams in: also a refusal
        assert resp.status_code in (200, 413), resp.status_code
        if resp.status_code == 200:
            body = resp.json()
            assert body["errors"][0]["extensions"]["code"] == "TOO_LARGE", body
    assert sorted(os.listdir(app.layout.in_root)) == before
    assert (await app.gql("{ assets(first: 1) { totalCount } }"))["assets"]["totalCount"] == count
