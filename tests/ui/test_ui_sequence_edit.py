"""Editing and previewing a sequence in headless Chromium at 1280×720: a clip's end edge dragged
(frame-snapped, the frame shown while dragging) and undone/redone, a start edge moved with the keys
(a frame, Shift ten) and undone; Play sequence crossing the cut (the player's source changes and its
time runs on in the second clip), frame steps and Home across the cut, Esc back to the open asset;
New, switching between two sequences, Duplicate and Delete (confirmed); the stream-copy note, and the
API's streamCopy for clips that do start on keyframes of one source."""
from __future__ import annotations

import time

import pytest

import ui_stack
from test_ui_sequence import BARS, WIDE, open_and_select
from ui_stack import graphql

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]


def clip_count(page, n: int) -> None:
    page.wait_for_function("n => document.querySelectorAll('.sequence-clip').length === n", arg=n)


def drag_first_end_edge(page, dx: int, steps: int) -> str:
    """Press on clip 0's end edge and move `dx` px right, the button held (the caller releases it):
    the label shows the frame-snapped out point while dragging; returns that label."""
    page.locator("#sequence-track").scroll_into_view_if_needed()
    box = page.locator("#sequence-trim-end-0").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=steps)
    label = page.inner_text("#sequence-trim-label")
    assert label.startswith("out 00:00:0") and "frame" in label, label
    return label


def attr_is(page, selector: str, name: str, value: str) -> None:
    page.wait_for_function("([s, a, v]) => document.querySelector(s)?.getAttribute(a) === v", arg=[selector, name, value])


def preview(page, script: str):
    return page.evaluate("() => { const t = document.querySelector('#sequence-track').dataset; "
                         "const v = document.querySelector('#player'); " + script + " }")


def saved_clips(server, name: str) -> list[tuple[float, float]]:
    seqs = graphql(server, "{ sequences { name clips { start end } } }")["sequences"]
    return [(c["start"], c["end"]) for s in seqs if s["name"] == name for c in s["clips"]]


def test_trim_preview_and_several_sequences(browser, server, artifacts):
    page = browser.new_context(viewport={"width": 1280, "height": 720}).new_page()
    page.set_default_timeout(30_000)
    ui_stack.sign_in(page, server[0])
    page.wait_for_selector("#sequence-track")
    open_and_select(page, WIDE, "00:00:01.000", "00:00:02.000")
    page.locator("#player").click()
    page.keyboard.press("e")
    clip_count(page, 1)
    open_and_select(page, BARS, "00:00:03.000", "00:00:04.000")
    page.click("#append-to-sequence")
    clip_count(page, 2)

    # -- the end edge of clip 1 dragged right: frame-snapped at 30 fps, the frame shown while dragging
    label = drag_first_end_edge(page, 60, steps=6)
    page.screenshot(path=str(artifacts / "sequence-trim-drag.png"))
    page.mouse.up()
    page.wait_for_function("() => document.querySelector('#sequence-clip-0').getAttribute('data-end') !== '2'")
    end_text = page.get_attribute("#sequence-clip-0", "data-end")
    end = float(end_text)
    assert end > 2 and abs(end * 30 - round(end * 30)) < 1e-3, end
    assert label.split()[1] == page.get_attribute("#sequence-trim-end-0", "aria-valuetext")
    assert saved_clips(server, "Sequence 1")[0] == (1.0, end)
    page.locator("#sequence-duration").click()
    page.keyboard.press("Control+z")  # the trim is one undoable edit…
    attr_is(page, "#sequence-clip-0", "data-end", "2")
    page.keyboard.press("Control+Shift+Z")  # …redone…
    attr_is(page, "#sequence-clip-0", "data-end", end_text)
    page.keyboard.press("Control+z")  # …and undone again: clip 1 is 30 frames
    attr_is(page, "#sequence-clip-0", "data-end", "2")

    # -- the start edge of clip 2 moved with the keys: three frames, then ten (25 fps), saved once
    page.focus("#sequence-trim-start-1")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    assert page.get_attribute("#sequence-trim-start-1", "aria-valuetext") == "00:00:03.520"
    attr_is(page, "#sequence-clip-1", "data-start", "3.52")
    assert saved_clips(server, "Sequence 1") == [(1.0, 2.0), (3.52, 4.0)]
    page.locator("#sequence-duration").click()
    page.keyboard.press("Control+z")
    attr_is(page, "#sequence-clip-1", "data-start", "3")
    assert page.get_attribute("#sequence-trim-start-1", "aria-valuetext") == "00:00:03.000"

    # -- the stream-copy note: these clips cannot be copied (different sources, cuts off keyframes)
    summary = page.inner_text("#sequence-copy summary")
    assert summary.startswith("Re-encodes: stream copy is not possible"), summary
    assert "between keyframes" in page.text_content("#sequence-copy ul")

    # -- preview across the cut: the player switches to the second source and plays on in it
    page.click("#play-sequence")
    page.wait_for_function("() => document.querySelector('#sequence-track').dataset.previewClip === '1'")
    page.wait_for_function("() => document.querySelector('#player').currentSrc.includes('Color%20bars')")
    t1 = preview(page, "return v.currentTime;")
    page.wait_for_function("t => { const v = document.querySelector('#player'); return v.currentTime > t + 0.1 && "
                           "v.currentTime < 4.01 && !v.paused }", arg=t1)
    page.wait_for_function("() => document.querySelector('#sequence-playhead').style.display === 'block'")
    page.screenshot(path=str(artifacts / "sequence-preview.png"))
    page.keyboard.press("k")
    page.wait_for_function("() => document.querySelector('#player').paused")
    # frame steps cross the cut both ways: Home, then 30 frames on is clip 2's first frame
    page.keyboard.press("Home")
    page.wait_for_function("() => { const v = document.querySelector('#player'); return v.currentSrc.includes('Test%20pattern') "
                           "&& Math.abs(v.currentTime - 1) < 0.01 && v.readyState >= 1 }")
    for _ in range(3):
        page.keyboard.press("Shift+ArrowRight")
    page.wait_for_function("() => { const v = document.querySelector('#player'); return v.currentSrc.includes('Color%20bars') "
                           "&& Math.abs(v.currentTime - 3) < 0.01 && v.readyState >= 1 }")
    assert preview(page, "return t.previewClip;") == "1"
    page.keyboard.press("ArrowLeft")  # back over the cut: clip 1's last frame
    page.wait_for_function("() => { const v = document.querySelector('#player'); return v.currentSrc.includes('Test%20pattern') "
                           "&& Math.abs(v.currentTime - 59 / 30) < 0.01 }")
    assert page.inner_text("#sequence-time").startswith("00:00:00.967 / 00:00:02.000 · clip 1/2")
    page.keyboard.press("l")  # L plays on from there, across the cut again
    page.wait_for_function("() => document.querySelector('#sequence-track').dataset.previewClip === '1' && "
                           "document.querySelector('#player').currentTime > 3.05")
    page.keyboard.press("Escape")  # the preview ends; the open asset is back in the player
    page.wait_for_function("() => document.querySelector('#sequence-track').dataset.previewing === undefined")
    page.wait_for_function("() => document.querySelector('#player').currentSrc.includes('Color%20bars')")

    # -- several sequences: New, switch back, Duplicate, Delete (confirmed)
    page.click("#sequence-new")
    clip_count(page, 0)
    page.wait_for_function("() => document.querySelectorAll('#sequence-picker option').length === 2")
    assert page.input_value("#sequence-name") == "Sequence 2"
    page.select_option("#sequence-picker", label="Sequence 1")
    clip_count(page, 2)
    assert page.input_value("#sequence-name") == "Sequence 1"
    assert page.is_disabled("#sequence-undo")  # the history belongs to the sequence it was made in
    page.select_option("#sequence-picker", label="Sequence 2")
    clip_count(page, 0)
    page.select_option("#sequence-picker", label="Sequence 1")
    clip_count(page, 2)
    page.click("#sequence-duplicate")
    page.wait_for_function("() => document.querySelector('#sequence-name')?.value === 'Sequence 1 copy'")
    clip_count(page, 2)
    assert saved_clips(server, "Sequence 1 copy") == [(1.0, 2.0), (3.0, 4.0)]
    page.click("#sequence-delete")
    page.wait_for_selector("#confirm-sequence-delete")
    page.screenshot(path=str(artifacts / "sequence-delete-confirm.png"))
    page.click("#confirm-sequence-delete")
    page.wait_for_function("() => document.querySelectorAll('#sequence-picker option').length === 2")
    names = sorted(s["name"] for s in graphql(server, "{ sequences { name } }")["sequences"])
    assert names == ["Sequence 1", "Sequence 2"]
    page.fill("#sequence-name", "Opening")  # a rename shows in the picker
    page.locator("#sequence-count").click()
    page.wait_for_function("() => Array.from(document.querySelectorAll('#sequence-picker option'))"
                           ".some(o => o.textContent === 'Opening' && o.selected)")


def test_stream_copy_check_over_the_api(server):
    """One source, every clip starting on one of its keyframes: a copy is possible; one frame off, not."""
    assets = graphql(server, "{ assets(first: 10) { nodes { id filename keyframes } } }")["assets"]["nodes"]
    wide = next(a for a in assets if a["filename"] == WIDE)
    deadline = time.monotonic() + 60
    while not wide["keyframes"] and time.monotonic() < deadline:  # the analysis fills them in
        time.sleep(0.5)
        assets = graphql(server, "{ assets(first: 10) { nodes { id filename keyframes } } }")["assets"]["nodes"]
        wide = next(a for a in assets if a["filename"] == WIDE)
    key = next(k for k in wide["keyframes"] if k > 0.5)
    make = """mutation($clips: [SequenceClipInput!]) { createSequence(name: "copy check", clips: $clips) {
      streamCopy { possible reasons } } }"""
    ok = graphql(server, make, {"clips": [{"sourceId": wide["id"], "start": 0, "end": 1},
                                          {"sourceId": wide["id"], "start": key, "end": key + 1}]})
    assert ok["createSequence"]["streamCopy"] == {"possible": True, "reasons": []}
    off = graphql(server, make, {"clips": [{"sourceId": wide["id"], "start": 0, "end": 1},
                                           {"sourceId": wide["id"], "start": key + 1 / 30, "end": key + 1}]})
    assert off["createSequence"]["streamCopy"]["possible"] is False
    assert off["createSequence"]["streamCopy"]["reasons"][0].startswith("clip 2 (Test pattern 720p.mp4) starts at")
