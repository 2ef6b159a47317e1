"""Premiere-style marks and transport keys in headless Chromium (issue 23): Shift+I / Shift+O go to
the In / Out point, X marks the clip under the playhead (between the scene cuts around it, or the
whole asset when it has none), Alt+X clears the marks, K held with J / L steps one frame, the
hints bar names every shortcut and `?` opens the cheat sheet, and a source's In/Out survive
opening another clip and coming back.

The server is tests/ui/conftest.py's (demo clips); a clip with known cuts (generate_marked_clip:
cuts at 3, 5 and 6 s, 25 fps) is added to its media folder and scanned in.
"""
from __future__ import annotations

import pytest

import ui_stack
from backend.media.clips import generate_marked_clip
from test_ui_browser import CLIP, SHORT, graphql, select_asset, set_field, wait_value
from ui.shortcuts import all_shortcuts

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

MARKED = "Marked shots.mp4"


@pytest.fixture(scope="module")
def page(browser, server):
    base, root = server
    generate_marked_clip(root / "media" / "in" / MARKED)
    assert graphql(server, "mutation { scanMediaFolder { added } }")["scanMediaFolder"]["added"] == 1
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    ui_stack.sign_in(pg, base)
    pg.wait_for_selector("#asset-item")
    yield pg
    context.close()


def now(pg) -> float:
    return pg.evaluate("() => document.querySelector('#player').currentTime")


def go(pg, seconds: float) -> None:
    pg.evaluate("t => window.mprTimeline.seek(t)", seconds)
    pg.wait_for_function("t => Math.abs(document.querySelector('#player').currentTime - t) < 0.002", arg=seconds)
    pg.click("#editor-title")  # focus the page, not a field


def test_shift_i_and_shift_o_go_to_the_marks(page):
    select_asset(page, CLIP)  # 30 fps
    go(page, 1.0)
    page.keyboard.press("i")
    wait_value(page, "#in-point", "00:00:01.000")
    go(page, 2.5)
    page.keyboard.press("o")
    wait_value(page, "#out-point", "00:00:02.500")
    go(page, 10.0)
    page.keyboard.press("Shift+I")
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 1.0) < 0.002")
    assert page.input_value("#in-point") == "00:00:01.000"  # going there does not move the mark
    page.keyboard.press("Shift+O")
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 2.5) < 0.002")
    assert page.input_value("#out-point") == "00:00:02.500"


def test_k_held_with_j_and_l_steps_one_frame(page):
    go(page, 5.0)
    page.keyboard.down("k")
    page.keyboard.press("l")
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - (5 + 1/30)) < 0.002")
    page.keyboard.press("l")
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - (5 + 2/30)) < 0.002")
    page.keyboard.press("j")
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - (5 + 1/30)) < 0.002")
    assert page.evaluate("() => document.querySelector('#player').paused")
    page.keyboard.up("k")
    page.keyboard.press("l")  # K released: L plays again
    page.wait_for_function("() => !document.querySelector('#player').paused")
    page.keyboard.press("k")
    page.wait_for_function("() => document.querySelector('#player').paused")
    # the same with the focus on the player (its native keys are suppressed there): K's release
    # must still be seen, or L would keep stepping
    go(page, 5.0)
    page.focus("#player")
    page.keyboard.down("k")
    page.keyboard.press("l")
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - (5 + 1/30)) < 0.002")
    page.keyboard.up("k")
    page.keyboard.press("l")
    page.wait_for_function("() => !document.querySelector('#player').paused")
    page.keyboard.press("k")
    page.wait_for_function("() => document.querySelector('#player').paused")


def test_x_marks_the_whole_asset_without_cuts_and_alt_x_clears(page):
    assert page.get_attribute("#timeline", "data-cuts") == ""
    go(page, 7.0)
    page.keyboard.press("x")
    wait_value(page, "#in-point", "00:00:00.000")
    wait_value(page, "#out-point", "00:00:20.000")
    set_field(page, "in-point", "00:00:03.000")
    wait_value(page, "#in-point", "00:00:03.000")
    page.click("#editor-title")
    page.keyboard.press("Alt+x")
    wait_value(page, "#in-point", "00:00:00.000")
    wait_value(page, "#out-point", "00:00:20.000")


def test_x_marks_the_shot_between_scene_cuts(page):
    select_asset(page, MARKED)
    page.wait_for_function("() => document.querySelector('#timeline').dataset.cuts !== ''")
    cuts = [float(c) for c in page.get_attribute("#timeline", "data-cuts").split(",")]
    assert len(cuts) >= 2
    a, b = cuts[0], cuts[1]
    go(page, (a + b) / 2)
    page.keyboard.press("x")
    page.wait_for_function("([a, b]) => { const t = document.querySelector('#timeline').dataset;"
                           " return Math.abs(t.in - a) < 0.021 && Math.abs(t.out - b) < 0.021 }", arg=[a, b])
    go(page, a / 2)  # before the first cut: from the start to it
    page.keyboard.press("X")
    page.wait_for_function("a => { const t = document.querySelector('#timeline').dataset;"
                           " return Number(t.in) === 0 && Math.abs(t.out - a) < 0.021 }", arg=a)
    page.keyboard.press("Alt+x")
    page.wait_for_function("() => { const t = document.querySelector('#timeline').dataset;"
                           " return Number(t.in) === 0 && Math.abs(t.out - t.duration) < 0.001 }")


def test_marks_are_kept_per_source(page):
    select_asset(page, CLIP)
    set_field(page, "in-point", "00:00:02.000")
    wait_value(page, "#in-point", "00:00:02.000")
    set_field(page, "out-point", "00:00:04.000")
    wait_value(page, "#out-point", "00:00:04.000")
    select_asset(page, SHORT)  # another clip (an output to review) starts with the whole asset
    wait_value(page, "#in-point", "00:00:00.000")
    wait_value(page, "#out-point", "00:00:10.000")
    select_asset(page, CLIP)  # and coming back restores the source's marks
    wait_value(page, "#in-point", "00:00:02.000")
    wait_value(page, "#out-point", "00:00:04.000")


def test_hints_bar_and_cheat_sheet_list_every_shortcut(page, artifacts):
    page.screenshot(path=str(artifacts / "marks-hints-1280.png"))
    hints = page.inner_text("#keys-hint")
    for keys, _, hint in all_shortcuts():
        if keys != "?":
            assert keys in hints and hint in hints, (keys, hint)
    page.click("#editor-title")
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts-dialog")
    dialog.wait_for(state="visible")
    text = dialog.inner_text()
    for keys, what, _ in all_shortcuts():
        assert keys in text and what in text, (keys, what)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    page.get_by_role("button", name="Keyboard shortcuts").click()  # the ? button opens it too
    dialog.wait_for(state="visible")
    page.click("#shortcuts-close")
    dialog.wait_for(state="hidden")


def test_unsaved_details_are_autosaved_on_switching_clips(page, server):
    select_asset(page, CLIP)
    page.fill("#asset-comments", "keep this note")
    page.click("#tag-input")
    page.keyboard.type("autosaved")
    page.keyboard.press("Enter")
    page.wait_for_selector(".tag-chip:has-text('autosaved')")
    page.keyboard.type("typed-only")  # no Enter: still part of the draft
    page.wait_for_function("() => !document.querySelector('#save-details').disabled")
    select_asset(page, SHORT)  # no Save clicked
    page.get_by_text(f"Saved the details of {CLIP}.").wait_for()
    nodes = graphql(server, '{ assets(first: 100, search: "Test pattern") { nodes { filename tags comments } } }')
    clip = next(n for n in nodes["assets"]["nodes"] if n["filename"] == CLIP)
    assert clip["comments"] == "keep this note" and {"autosaved", "typed-only"} <= set(clip["tags"])
    # the other clip's drafts are its own, and coming back shows what was saved
    assert page.input_value("#asset-comments") == ""
    select_asset(page, CLIP)
    page.wait_for_selector(".tag-chip:has-text('typed-only')")
    assert page.input_value("#asset-comments") == "keep this note"
    assert page.is_disabled("#save-details")  # nothing unsaved any more
