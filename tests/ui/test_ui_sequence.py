"""The sequence track in headless Chromium: in/out on two demo clips of different sizes and rates,
E appends the selection (and the button does too), a clip's × removes it, Ctrl+Z / Ctrl+Shift+Z
undo and redo that, a drag reorders the clips, a clip reopens its source at its range, the name is saved,
Render queues one job that renders the sequence; the job's output is checked through GraphQL
(frame count = the clips' frames, every cut verified by the pipeline)."""
from __future__ import annotations

import time

import pytest

import ui_stack
from ui_stack import graphql

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

WIDE, BARS = "Test pattern 720p.mp4", "Color bars 1080p.mp4"  # 1280x720 30 fps, 1920x1080 25 fps


def open_and_select(page, name: str, start: str, end: str) -> None:
    page.locator("#asset-item", has_text=name).click()
    page.wait_for_function("n => document.querySelector('#editor-title')?.textContent === n", arg=name)
    page.wait_for_function("() => { const v = document.querySelector('#player'); return v && v.readyState >= 2 }")
    for field, text in (("in-point", start), ("out-point", end)):
        page.fill(f"#{field}", text)
        page.press(f"#{field}", "Enter")
        page.wait_for_function("([s, v]) => document.querySelector(s)?.value === v", arg=[f"#{field}", text])


def clip_count(page, n: int) -> None:
    page.wait_for_function("n => document.querySelectorAll('.sequence-clip').length === n", arg=n)


def test_sequence_track_appends_removes_and_renders(browser, server, artifacts):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    ui_stack.sign_in(page, server[0])
    page.wait_for_selector("#sequence-track")

    open_and_select(page, WIDE, "00:00:01.000", "00:00:02.500")
    page.locator("#player").focus()  # focus leaves the fields: the timeline's keys work (a click would
    # also toggle playback, and two clicks within the double-click interval put the video in full screen)
    page.keyboard.press("e")
    clip_count(page, 1)
    open_and_select(page, BARS, "00:00:03.000", "00:00:04.000")
    page.click("#append-to-sequence")
    clip_count(page, 2)
    open_and_select(page, WIDE, "00:00:05.000", "00:00:05.500")
    page.click("#append-to-sequence")
    clip_count(page, 3)
    assert page.get_attribute("#sequence-clip-1", "data-start") == "3"
    page.click("#sequence-remove-2")  # the last one goes again
    clip_count(page, 2)
    page.locator("#player").focus()
    page.keyboard.press("Control+z")  # undo brings it back, redo removes it again
    clip_count(page, 3)
    page.keyboard.press("Control+Shift+Z")
    clip_count(page, 2)
    page.drag_and_drop("#sequence-clip-0", "#sequence-clip-1")  # reorder by drag…
    page.wait_for_function("() => document.querySelector('#sequence-clip-0')?.getAttribute('data-start') === '3'")
    page.locator("#player").focus()
    page.keyboard.press("Control+z")  # …and undo it
    page.wait_for_function("() => document.querySelector('#sequence-clip-0')?.getAttribute('data-start') === '1'")
    page.click("#sequence-clip-1")  # a clip reopens its source at its range
    page.wait_for_function("n => document.querySelector('#editor-title')?.textContent === n", arg=BARS)
    page.wait_for_function("() => document.querySelector('#in-point')?.value === '00:00:03.000' && "
                           "document.querySelector('#out-point')?.value === '00:00:04.000'")
    page.fill("#sequence-name", "UI cut")
    page.locator("#sequence-duration").click()  # blur: the name is saved
    page.wait_for_function("() => document.querySelector('#sequence-duration')?.textContent !== ''")
    page.wait_for_function("() => document.querySelector('#sequence-frames')?.textContent === '75 frames at 30 fps'")
    page.screenshot(path=str(artifacts / "sequence-track.png"))

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seqs = graphql(server, "{ sequences { id name clips { start end source { filename } } } }")["sequences"]
        if seqs and seqs[0]["name"] == "UI cut":
            break
        time.sleep(0.3)
    assert [(c["source"]["filename"], c["start"], c["end"]) for c in seqs[0]["clips"]] == [
        (WIDE, 1.0, 2.5), (BARS, 3.0, 4.0)]

    page.click("#render-sequence")
    deadline = time.monotonic() + 240
    job = None
    while time.monotonic() < deadline:
        jobs = graphql(server, "{ jobs(first: 5) { nodes { status error sequenceId plan outputAsset { width height } } } }")
        job = next((j for j in jobs["jobs"]["nodes"] if j["sequenceId"] == seqs[0]["id"]), None)
        if job and job["status"] in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(0.5)
    assert job and job["status"] == "SUCCEEDED", job
    assert job["plan"]["clip_frames"] == [45, 30] and job["plan"]["frames_out"] == 75  # at 30 fps
    assert len(job["plan"]["cuts"]) == 4
