"""Fixtures for the hostile-input tests: every awkward input generated here (lavfi via
backend.media.clips), and ONE real app process for the whole session (`mpr api` on SQLite with
the local executor, 8 MB upload limit). After every test the server must still answer and the
canary asset registered at the start must be untouched: nothing else is lost.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import httpx
import pytest

from backend.media.binaries import ffmpeg_path
from backend.media.clips import generate_clip

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "faults"))

from mpr_app import TOKEN, MprApp, drop_database, new_database  # noqa: E402

MAX_UPLOAD = 8 * 1024 * 1024
UPLOAD = ("mutation($file: Upload!, $filename: String) { uploadAsset(file: $file, filename: $filename) "
          "{ id filename storageKey status errorMessage duration width height rotation } }")


def encoder_supports(encoder: str, pix_fmt: str) -> bool:
    import subprocess

    out = subprocess.run([ffmpeg_path(), "-hide_banner", "-h", f"encoder={encoder}"], capture_output=True, text=True)
    return pix_fmt in out.stdout


def _hevc_10bit(src: Path, d: Path) -> Path:
    """Main 10 HEVC (yuv420p10le, tagged hvc1 like phone footage) with `src`'s audio: PyAV's x265
    encodes the pictures, the bundled FFmpeg adds the sound."""
    import subprocess

    import av

    pictures = d / "hevc-10bit-video.mp4"
    with av.open(str(src)) as inp, av.open(str(pictures), "w") as out:
        vin = inp.streams.video[0]
        vout = out.add_stream("libx265", rate=vin.average_rate)
        vout.width, vout.height, vout.pix_fmt = vin.width, vin.height, "yuv420p10le"
        vout.options = {"preset": "ultrafast", "x265-params": "log-level=error"}
        for frame in inp.decode(vin):
            for packet in vout.encode(frame.reformat(format="yuv420p10le")):
                out.mux(packet)
        for packet in vout.encode():
            out.mux(packet)
    dst = d / "hevc-10bit.mp4"
    subprocess.run([ffmpeg_path(), "-v", "error", "-y", "-i", str(pictures), "-i", str(src), "-map", "0:v",
                    "-map", "1:a", "-c", "copy", "-tag:v", "hvc1", str(dst)], check=True)
    return dst


def _cut(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


@pytest.fixture(scope="session")
def hostile_clips(clips_dir) -> dict[str, Path]:
    d = clips_dir / "hostile"
    d.mkdir(exist_ok=True)
    clips = {
        "odd": generate_clip(d / "odd.mp4", duration=1.0, width=1918, height=1078),
        "rotated": generate_clip(d / "rotated.mp4", duration=1.5, rotation=90),
        # frames dropped in an irregular pattern, timestamps kept: variable frame rate
        "vfr": generate_clip(d / "vfr.mp4", duration=3.0, fps=30,
                             extra_args=("-vf", r"select='lt(mod(n\,10)\,4)+lt(n\,5)'", "-fps_mode", "vfr")),
        "h264_10bit": generate_clip(d / "h264-10bit.mp4", duration=1.5, extra_args=("-pix_fmt", "yuv420p10le")),
        "h264_422_10bit": generate_clip(d / "h264-422-10bit.mp4", duration=1.5, extra_args=("-pix_fmt", "yuv422p10le")),
        "av1_10bit": generate_clip(d / "av1-10bit.mp4", duration=1.5, vcodec="libsvtav1",
                                   extra_args=("-pix_fmt", "yuv420p10le")),
        "hevc_444": generate_clip(d / "hevc-444.mp4", duration=1.5, vcodec="libx265", extra_args=("-pix_fmt", "yuv444p")),
        "mkv": generate_clip(d / "clip.mkv", duration=1.5),
        "mov": generate_clip(d / "clip.mov", duration=1.5),
        "webm": generate_clip(d / "clip.webm", duration=1.5, vcodec="libvpx-vp9", acodec="libopus"),
        "short": generate_clip(d / "short.mp4", duration=0.2),
        "audio_only": generate_clip(d / "audio.m4a", duration=1.5, video=False),
        "video_only": generate_clip(d / "silent.mp4", duration=1.5, audio=False),
        "good": generate_clip(d / "good.mp4", duration=2.0, gop=25),
        "moov_end": generate_clip(d / "moov-end.mp4", duration=2.0),
        "moov_front": generate_clip(d / "moov-front.mp4", duration=2.0, extra_args=("-movflags", "+faststart")),
    }
    if encoder_supports("libx265", "yuv420p10le"):
        clips["hevc_10bit"] = generate_clip(d / "hevc-10bit.mp4", duration=1.5, vcodec="libx265",
                                            extra_args=("-pix_fmt", "yuv420p10le"))
    else:  # the bundled static x265 is 8-bit only; PyAV's libx265 has the 10-bit build
        clips["hevc_10bit"] = _hevc_10bit(generate_clip(d / "hevc-8bit-src.mp4", duration=1.5), d)
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.mp4").write_text("These are not moving pictures.\n" * 50)
    clips["empty"] = d / "empty.mp4"
    clips["text"] = d / "notes.mp4"
    clips["truncated_moov_end"] = _cut(clips["moov_end"], d / "cut-moov-end.mp4")
    clips["truncated_moov_front"] = _cut(clips["moov_front"], d / "cut-moov-front.mp4")
    return clips


class HostileApp(MprApp):
    async def upload(self, content: bytes, filename: str, name_arg: str | None = None) -> httpx.Response:
        operations = {"query": UPLOAD, "variables": {"file": None, "filename": name_arg}}
        async with httpx.AsyncClient(timeout=120) as client:
            return await client.post(
                f"{self.url}/graphql",
                data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
                files={"0": (filename, content, "application/octet-stream")},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )

    async def upload_ok(self, content: bytes, filename: str, name_arg: str | None = None) -> dict:
        resp = await self.upload(content, filename, name_arg)
        assert resp.status_code == 200, resp.text[:1000]
        body = resp.json()
        assert not body.get("errors"), body
        return body["data"]["uploadAsset"]

    async def presets_by_name(self) -> dict[str, str]:
        if not hasattr(self, "_presets"):
            self._presets = await self.preset_ids()
        return self._presets


@pytest.fixture(scope="session")
async def app(tmp_path_factory, hostile_clips):
    root = tmp_path_factory.mktemp("hostile-app")
    url = await new_database("sqlite", root)
    srv = HostileApp(root, url, workers=2, MPR_MAX_UPLOAD_BYTES=str(MAX_UPLOAD))
    srv.migrate()
    shutil.copyfile(hostile_clips["good"], srv.layout.in_root / "canary.mp4")
    srv.start()
    canary = (await srv.scan())["canary.mp4"]
    assert canary["status"] == "READY"
    srv.canary_id = canary["id"]
    srv.canary_sha = hashlib.sha256((srv.layout.in_root / "canary.mp4").read_bytes()).hexdigest()
    try:
        yield srv
    finally:
        srv.stop()
        await drop_database(url)


@pytest.fixture(autouse=True)
async def server_survives(app):
    """After each hostile test: the server still answers and the canary asset is untouched."""
    yield
    assert app.alive, app.log()
    assert httpx.get(f"{app.url}/healthz", timeout=10).status_code == 200
    data = await app.gql('query($id: ID!) { asset(id: $id) { status storageKey } }', {"id": app.canary_id})
    assert data["asset"] == {"status": "READY", "storageKey": "canary.mp4"}
    assert hashlib.sha256((app.layout.in_root / "canary.mp4").read_bytes()).hexdigest() == app.canary_sha
    assert "Traceback" not in app.log(), app.log()
