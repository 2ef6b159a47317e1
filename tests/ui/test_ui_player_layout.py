"""The player on open and its size (issue 23) in headless Chromium: opening a clip shows its own first
decoded frame (the poster only until then) with the SMPTE readout at 00:00:00:00; at 1280×720 the
player takes at least 60 % of the centre column's width and height with the transport and the
timeline in view under it; at 1024×768 nothing is clipped (the Out field and the selection are
inside the column and not covered). The readout's drop-frame labels (timeline.js) are the ones
ui/timecode.py writes and reads. Server: tests/ui/conftest.py's (the three demo clips)."""
from __future__ import annotations

import pytest

import ui_stack
from ui.timecode import frame_to_smpte

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

CLIP = "Test pattern 720p.mp4"  # 1280×720, 30 fps, its timecode burnt in


def open_clip(browser, base: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(30_000)
    ui_stack.sign_in(page, base)
    page.locator("#asset-item", has_text=CLIP).click()
    page.wait_for_function("n => document.querySelector('#editor-title')?.textContent === n", arg=CLIP)
    page.wait_for_selector("#player[data-first-frame='shown']")
    return context, page


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def uncovered(page, selector: str) -> bool:
    """Whether the element is what the page shows at its centre (not clipped away or covered)."""
    return page.eval_on_selector(selector, """el => { const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return hit === el || el.contains(hit); }""")


def test_first_frame_and_player_size_at_1280x720(browser, server, artifacts):
    context, page = open_clip(browser, server[0], 1280, 720)
    video = page.eval_on_selector("#player", "v => ({poster: v.getAttribute('poster'), ready: v.readyState, "
                                             "t: v.currentTime, paused: v.paused})")
    assert video["poster"] is None and video["ready"] >= 2 and video["t"] == 0 and video["paused"], video
    page.wait_for_function("() => document.querySelector('#tl-time').textContent === '00:00:00:00'")
    assert page.text_content("#tl-frame") == "frame 0"
    page.screenshot(path=str(artifacts / "player-1280x720.png"))

    player, column = box(page, "#player-box"), box(page, "#center-column")
    assert player["width"] >= 0.6 * column["width"], (player, column)
    assert player["height"] >= 0.6 * column["height"], (player, column)
    # the transport and the whole timeline are in view under it, without scrolling
    for selector in ("#play-toggle", "#in-point", "#out-point", "#tl-track"):
        b = box(page, selector)
        assert b["y"] + b["height"] <= 720 and b["x"] + b["width"] <= column["x"] + column["width"], selector
        assert uncovered(page, selector), selector
    # a frame forward: the readout names it
    page.get_by_role("button", name="Forward one frame").click()
    page.wait_for_function("() => document.querySelector('#tl-time').textContent === '00:00:00:01'")
    # the details are below, one scroll of the centre column away
    page.locator("#asset-details").scroll_into_view_if_needed()
    assert page.locator("#asset-details").is_visible()
    context.close()


def test_nothing_clipped_at_1024x768(browser, server, artifacts):
    context, page = open_clip(browser, server[0], 1024, 768)
    page.screenshot(path=str(artifacts / "player-1024x768.png"))
    column = box(page, "#center-column")
    for selector in ("#player-box", "#in-point", "#out-point", "#selection-duration", "#reset-points", "#tl-track"):
        b = box(page, selector)
        assert b["x"] >= column["x"] and b["x"] + b["width"] <= column["x"] + column["width"], selector
        assert b["y"] + b["height"] <= 768, selector
        assert uncovered(page, selector), selector
    player = box(page, "#player-box")
    assert player["width"] >= 0.9 * column["width"] and player["height"] >= 180
    context.close()


def test_readout_drop_frame_labels_match_python(browser, server):
    context, page = open_clip(browser, server[0], 1280, 720)
    ntsc, ntsc60 = 30000 / 1001, 60000 / 1001
    cases = [(f, fps) for fps in (ntsc, ntsc60, 25, 30, 24000 / 1001)
             for f in (0, 1, 2, 1799, 1800, 1801, 3599, 3600, 17981, 17982, 17983, 35963, 35964, 107892, 215785)]
    got = page.evaluate("cases => cases.map(([f, fps]) => window.mprTimeline.smpte(f / fps, fps))", cases)
    assert got == [frame_to_smpte(f, fps) for f, fps in cases]
    assert got[4] == "00:01:00;02" and got[9] == "00:10:00;00"
    context.close()
