"""Issue 15's first "Done when", end to end in headless Chromium at 1280×800: a 4-clip sequence from
three sources of different sizes and rates — the demo's 1280×720 30 fps and 1920×1080 25 fps clips and
a 640×480 24 fps clip WITHOUT audio (made here with lavfi and registered with the Scan button) — built
with keys only (a library row opened with Enter, the playhead moved with ←/→ and Shift, I / O, E),
reordered by a drag, an edge trimmed by a drag, Ctrl+Z / Ctrl+Shift+Z, a preview that crosses a cut
(the player's source changes and its time runs on in the next clip), rendered with "H.264 720p" through
Render sequence, and the output played from the queue. The output is checked through GraphQL (the
job's plan and verification record) and ffprobe/ffmpeg: frames = the clips' frames at 30 fps, an
audio track throughout, silence where the audio-less clip is and sound around it."""
from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

import ui_stack
from backend.media.binaries import ffmpeg_path, ffprobe_path
from backend.media.clips import generate_clip
from test_ui_browser import choose_preset
from test_ui_sequence_edit import attr_is, clip_count, drag_first_end_edge, graphql

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(900)]

WIDE, BARS = "Test pattern 720p.mp4", "Color bars 1080p.mp4"  # 1280x720 30 fps, 1920x1080 25 fps (audio)
SILENT = "Silent 480p 24fps.mp4"  # 640x480 24 fps, no audio stream
FPS = {WIDE: 30, BARS: 25, SILENT: 24}
OUT_FPS = 30  # the preset keeps the rate: the sources' highest


def open_with_keys(page, name: str) -> None:
    """Focus the library row and press Enter; wait until the player can show a frame."""
    page.locator("#asset-item", has_text=name).focus()
    page.keyboard.press("Enter")
    page.wait_for_function("n => document.querySelector('#editor-title')?.textContent === n", arg=name)
    page.wait_for_function("() => { const v = document.querySelector('#player'); return v && v.readyState >= 2 }")
    page.locator("#editor-title").click()  # focus leaves the library row: the timeline's keys act


def go_to_frame(page, fps: int, frame: int) -> None:
    """Move the playhead with ← / → (Shift: ten frames) from where it is to `frame`."""
    now = round(page.eval_on_selector("#player", "v => v.currentTime") * fps)
    delta = frame - now
    arrow = "ArrowRight" if delta > 0 else "ArrowLeft"
    for _ in range(abs(delta) // 10):
        page.keyboard.press("Shift+" + arrow)
    for _ in range(abs(delta) % 10):
        page.keyboard.press(arrow)
    page.wait_for_function("t => Math.abs(document.querySelector('#player').currentTime - t) < 1e-3",
                           arg=frame / fps)


def tc(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"00:00:{ms // 1000:02d}.{ms % 1000:03d}"


def mark_and_append(page, name: str, first: int, last: int, clips_after: int) -> None:
    """Open `name`, I at frame `first`, O at frame `last`, E: the sequence has `clips_after` clips."""
    open_with_keys(page, name)
    fps = FPS[name]
    page.keyboard.press("k")
    go_to_frame(page, fps, first)
    page.keyboard.press("i")
    page.wait_for_function("v => document.querySelector('#in-point')?.value === v", arg=tc(first / fps))
    go_to_frame(page, fps, last)
    page.keyboard.press("o")
    page.wait_for_function("v => document.querySelector('#out-point')?.value === v", arg=tc(last / fps))
    page.keyboard.press("e")
    clip_count(page, clips_after)


def add_silent_source(page, root) -> None:
    """A third size and rate without audio, registered the way a user would: the Scan button."""
    clip = generate_clip(root / "media" / "in" / "extra" / SILENT, duration=4, width=640, height=480, fps=24,
                         audio=False, gop=24, extra_args=("-movflags", "+faststart"))
    probe = subprocess.run([ffprobe_path(), "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0",
                            str(clip)], capture_output=True, text=True, check=True)
    assert probe.stdout.split() == ["video"]
    page.click("#scan-folder")
    page.wait_for_selector(f"#asset-item[data-name='{SILENT}'][data-status='ready']", timeout=120_000)


def max_volume(path, start: float, length: float) -> float:
    """The loudest sample (dB) of the output's audio between start and start + length."""
    proc = subprocess.run([ffmpeg_path(), "-hide_banner", "-nostdin", "-ss", f"{start:.3f}", "-t", f"{length:.3f}",
                           "-i", str(path), "-vn", "-af", "volumedetect", "-f", "null", "-"],
                          capture_output=True, text=True, check=True)
    found = re.search(r"max_volume: (-?[\d.]+|-inf) dB", proc.stderr)
    assert found, proc.stderr[-800:]
    return float(found.group(1))


def probe_output(path) -> dict:
    proc = subprocess.run([ffprobe_path(), "-v", "error", "-count_packets", "-show_entries",
                           "stream=codec_type,width,height,avg_frame_rate,nb_read_packets,duration",
                           "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return {s["codec_type"]: s for s in json.loads(proc.stdout)["streams"]}


def test_sequence_built_with_keys_and_drags_renders_and_plays(browser, server, artifacts):
    base, root = server
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(30_000)
    ui_stack.sign_in(page, base)
    page.wait_for_selector("#sequence-track")
    add_silent_source(page, root)

    # -- built with keys: A = WIDE 1–2 s, B = BARS 2–3 s, C = SILENT 1–2 s, D = WIDE 5–5.5 s
    mark_and_append(page, WIDE, 30, 60, 1)
    mark_and_append(page, BARS, 50, 75, 2)
    mark_and_append(page, SILENT, 24, 48, 3)
    mark_and_append(page, WIDE, 150, 165, 4)
    sources = lambda: page.eval_on_selector_all(  # noqa: E731
        ".sequence-clip", "els => els.map(e => e.getAttribute('title').split(' · ')[0])")
    assert sources() == [WIDE, BARS, SILENT, WIDE]

    # -- reordered by a drag: the silent clip onto the second place (A, C, B, D)
    page.drag_and_drop("#sequence-clip-2", "#sequence-clip-1")
    page.wait_for_function("n => document.querySelector('#sequence-clip-1')?.title.startsWith(n)", arg=SILENT)
    assert sources() == [WIDE, SILENT, BARS, WIDE]

    # -- the end edge of clip 1 (30 fps) dragged right: frame-snapped, then undone and redone
    drag_first_end_edge(page, 40, steps=5)
    page.mouse.up()
    page.wait_for_function("() => document.querySelector('#sequence-clip-0').getAttribute('data-end') !== '2'")
    end_text = page.get_attribute("#sequence-clip-0", "data-end")
    end = float(end_text)
    assert end > 2 and abs(end * 30 - round(end * 30)) < 1e-3, end
    page.locator("#sequence-duration").click()
    page.keyboard.press("Control+z")
    attr_is(page, "#sequence-clip-0", "data-end", "2")
    page.keyboard.press("Control+Shift+Z")
    attr_is(page, "#sequence-clip-0", "data-end", end_text)
    assert sources() == [WIDE, SILENT, BARS, WIDE]  # the reorder stayed

    seq = graphql(server, "{ sequences { id name clips { start end source { filename } } } }")["sequences"][0]
    expected = [(WIDE, 1.0, end), (SILENT, 1.0, 2.0), (BARS, 2.0, 3.0), (WIDE, 5.0, 5.5)]
    assert [(c["source"]["filename"], c["start"], c["end"]) for c in seq["clips"]] == expected
    frames = [max(1, round((e - s) * OUT_FPS)) for _, s, e in expected]
    page.wait_for_function("t => document.querySelector('#sequence-frames')?.textContent === t",
                           arg=f"{sum(frames)} frames at 30 fps")
    page.screenshot(path=str(artifacts / "sequence-e2e-built.png"))

    # -- preview across the first cut: the player switches to the silent clip's source and plays on in it
    page.click("#play-sequence")
    page.wait_for_function("() => document.querySelector('#sequence-track').dataset.previewClip === '1'",
                           timeout=60_000)
    page.wait_for_function("() => document.querySelector('#player').currentSrc.includes('Silent%20480p')")
    page.wait_for_function("() => { const v = document.querySelector('#player'); "
                           "return !v.paused && v.currentTime > 1.1 && v.currentTime < 2.01 }", timeout=60_000)
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.querySelector('#sequence-track').dataset.previewing === undefined")

    # -- rendered with H.264 720p through the Render control
    choose_preset(page, "H.264 720p")
    page.click("#render-sequence")
    job = None
    deadline = time.monotonic() + 600
    query = ("{ jobs(first: 5) { nodes { id status error sequenceId plan history { reason } preset { name } "
             "outputAsset { storageKey width height frameRate duration audioCodec } } } }")
    while time.monotonic() < deadline:
        nodes = graphql(server, query)["jobs"]["nodes"]
        job = next((j for j in nodes if j["sequenceId"] == seq["id"]), None)
        if job and job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(1)
    assert job and job["status"] == "SUCCEEDED", job
    assert job["preset"]["name"] == "H.264 720p"

    # the pipeline's own verification, as the job recorded it
    plan = job["plan"]
    assert plan["mode"] == "sequence" and plan["clips"] == 4
    assert plan["clip_frames"] == frames and plan["frames_out"] == sum(frames), plan
    around_cuts = {(0, "last"), (1, "first"), (1, "last"), (2, "first"), (2, "last"), (3, "first")}
    assert around_cuts <= {(c["clip"], c["side"]) for c in plan["cuts"]}, plan["cuts"]
    assert all(c["ssim"] >= 0.97 for c in plan["cuts"]), plan["cuts"]  # the pipeline's CUT_SSIM
    assert any(h["reason"].startswith("sequence verified: 4 clips") for h in job["history"]), job["history"]
    out = job["outputAsset"]
    assert (out["width"], out["height"]) == (1280, 720) and abs(out["frameRate"] - 30) < 0.01, out
    assert out["audioCodec"] == "aac", out

    # ...and checked here: frames, streams, silence where the audio-less clip is
    path = root / "media" / "out" / out["storageKey"]
    streams = probe_output(path)
    assert int(streams["video"]["nb_read_packets"]) == sum(frames), streams
    assert "audio" in streams, streams
    assert abs(float(streams["audio"]["duration"]) - sum(frames) / OUT_FPS) < 1 / OUT_FPS + 0.03, streams
    cut1, cut2 = frames[0] / OUT_FPS, (frames[0] + frames[1]) / OUT_FPS
    assert max_volume(path, cut1 + 0.05, cut2 - cut1 - 0.1) < -80  # the silent clip: silence
    assert max_volume(path, 0.05, cut1 - 0.1) > -40  # its neighbours: their tones
    assert max_volume(path, cut2 + 0.05, frames[2] / OUT_FPS - 0.1) > -40

    # -- the output played in the player, from the queue
    row = page.locator("#job-row", has=page.locator(".job-play")).filter(has_text=path.name).first
    row.wait_for()
    row.locator(".job-play").click()
    page.wait_for_function("() => { const v = document.querySelector('#player');"
                           " return v && v.readyState >= 2 && v.currentSrc.includes('/media/out/') }")
    page.locator("#editor-title").click()
    page.keyboard.press("l")
    page.wait_for_function("() => { const v = document.querySelector('#player'); return v.currentTime > 0.5 }",
                           timeout=60_000)
    page.keyboard.press("k")
    page.screenshot(path=str(artifacts / "sequence-e2e-output-playing.png"))
