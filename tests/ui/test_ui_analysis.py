"""The timeline's analysis features in headless Chromium, against the real app: the waveform canvas
under the filmstrip, scene-cut / black / silence markers, handles snapping to a cut (not with Shift),
↑/↓ jumping between cuts, and zoom (buttons, Ctrl+wheel) down to frame-level ticks.

The server (tests/ui/conftest.py) is started through ui_stack like the other browser tests; a clip
with known content (backend.media.clips.generate_marked_clip: cuts at 3, 5 and 6 s, black 5-6 s,
silence 3-5 s, 25 fps) is added to its media folder and scanned in.
"""
from __future__ import annotations

import pytest

import ui_stack
from backend.media.clips import generate_marked_clip
from test_ui_browser import graphql, select_asset, set_field, shot, wait_value

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

MARKED = "Marked shots.mp4"
FPS = 25


@pytest.fixture(scope="module")
def page(browser, server):
    base, root = server
    generate_marked_clip(root / "media" / "in" / MARKED)
    assert graphql(server, "mutation { scanMediaFolder { added } }")["scanMediaFolder"]["added"] == 1
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    ui_stack.sign_in(pg, base)  # every page needs a session
    pg.wait_for_selector("#asset-item")
    select_asset(pg, MARKED)
    yield pg
    context.close()


def drawn_pixels(pg) -> int:
    return pg.evaluate("""() => {
        const c = document.querySelector('#tl-waveform');
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        return n;
    }""")


def current_time(pg) -> float:
    return pg.evaluate("() => document.querySelector('#player').currentTime")


def test_waveform_and_markers_are_drawn(page, artifacts):
    page.wait_for_function("() => document.querySelector('#tl-waveform')?.dataset.drawn")
    canvas = page.locator("#tl-waveform").bounding_box()
    track = page.locator("#tl-track").bounding_box()
    assert canvas["y"] > track["y"] + 40 and abs(canvas["width"] - track["width"]) <= 3  # under the filmstrip
    assert drawn_pixels(page) > 500
    assert page.locator("[id^=tl-marker-cut]").count() == 3
    assert page.locator("[id^=tl-marker-black]").count() == 1
    assert page.locator("[id^=tl-marker-silence]").count() == 1
    cut = page.locator("[id^=tl-marker-cut]").first.bounding_box()
    assert abs((cut["x"] - track["x"]) / track["width"] - 3 / 8) < 0.01
    shot(page, artifacts, "20-waveform-markers")


def _drag_in_handle(page, x: float, shift: bool) -> None:
    handle = page.locator("#tl-in").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    if shift:
        page.keyboard.down("Shift")
    page.mouse.down()
    page.mouse.move(x, handle["y"] + handle["height"] / 2, steps=6)
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")


def test_in_handle_snaps_to_a_scene_cut_unless_shift(page):
    track = page.locator("#tl-track").bounding_box()
    pps = track["width"] / 8.0  # the clip is 8 s long
    x = track["x"] + 3.0 * pps + 5  # 5 px after the cut at 3 s
    _drag_in_handle(page, x, shift=False)
    wait_value(page, "#in-point", "00:00:03.000")
    set_field(page, "in-point", "0")
    wait_value(page, "#in-point", "00:00:00.000")
    _drag_in_handle(page, x, shift=True)
    expected = round((3.0 + 5 / pps) * FPS) / FPS
    assert expected != 3.0
    wait_value(page, "#in-point", f"00:00:{expected:06.3f}")
    set_field(page, "in-point", "0")
    wait_value(page, "#in-point", "00:00:00.000")


def test_arrow_keys_jump_between_cuts(page):
    page.evaluate("() => window.mprTimeline.seek(0)")
    page.click("#editor-title")  # focus the page, not a field
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 3) < 0.021")
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 5) < 0.021")
    page.keyboard.press("ArrowUp")
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 3) < 0.021")
    assert abs(current_time(page) - 3.0) < 0.021


def test_zoom_down_to_frame_ticks_and_back(page, artifacts):
    assert page.locator("#tl-ticks .tl-tick-frame").count() == 0
    for _ in range(4):
        page.click("#tl-zoom-in")
    page.wait_for_function("() => document.querySelectorAll('#tl-ticks .tl-tick-frame').length > 0")
    viewport = page.locator("#tl-viewport").bounding_box()
    track = page.locator("#tl-track").bounding_box()
    assert track["width"] > viewport["width"] * 4  # the track is zoomed, the viewport shows part of it
    assert track["width"] / (8 * FPS) >= 15  # down to single frames: one frame is 16 px wide at most zoom
    page.click("#tl-zoom-in")  # already as deep as it goes
    assert page.locator("#tl-track").bounding_box()["width"] == pytest.approx(track["width"], abs=1)
    # the waveform is redrawn for the visible range: still drawn, as wide as the viewport
    page.wait_for_function("() => document.querySelector('#tl-waveform').dataset.drawn")
    assert abs(page.locator("#tl-waveform").bounding_box()["width"] - viewport["width"]) <= 3
    # filmstrip tiles for the visible range: slots one tile wide across the viewport
    assert page.locator("#tl-strip-zoomed .tl-strip-tile").count() >= 2
    shot(page, artifacts, "21-zoomed-frame-ticks")
    for _ in range(12):
        page.click("#tl-zoom-out")
    page.wait_for_function("() => window.mprTimeline.state().zoom === 1")
    assert page.locator("#tl-ticks .tl-tick-frame").count() == 0
    assert page.locator("#tl-strip-zoomed .tl-strip-tile").count() == 0
    # Ctrl+wheel over the track zooms around the pointer
    page.mouse.move(viewport["x"] + viewport["width"] / 2, track["y"] + 20)
    page.keyboard.down("Control")
    page.mouse.wheel(0, -300)
    page.keyboard.up("Control")
    page.wait_for_function("() => window.mprTimeline.state().zoom > 1")
