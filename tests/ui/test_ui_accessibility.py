"""Accessibility and keyboard in headless Chromium (issue 23): axe-core finds no critical or serious
violation with the page empty, a clip open, a job running, the delete dialog and the cancel
confirmation open; a keyboard reaches and opens a library row; Space after clicking the picture
toggles playback once and the play button shows the state; the tag field keeps fast typing and
Backspace removes the last tag; the favicon exists; and with the keyboard alone a person opens a
clip, sets in and out, picks a preset, submits, cancels (confirming), retries and downloads.

axe-core 4.14.1 is vendored (tests/ui/vendor/axe.min.js, MPL-2.0, from the npm package) and
injected into the page, so the audit needs no network.
"""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

import ui_stack
from ui_stack import graphql

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
CLIP = "Test pattern 720p.mp4"  # 20 s, 1280x720, 30 fps
WEBM = "Mandelbrot 360p.webm"
SLOW_PRESET = "Slow a11y 1080p"  # the only preset starting with "S": typeahead finds it


@pytest.fixture(scope="module")
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    failed: list[str] = []
    pg.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    ui_stack.sign_in(pg, server[0])
    pg.wait_for_selector("#asset-item")
    pg.failed_responses = failed
    yield pg
    context.close()


def audit(page, artifacts: Path, state: str) -> list[dict]:
    """axe-core on the whole page; the critical and serious violations (written to test-artifacts)."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    # a dialog still fading in is half transparent: its contrast is measured once it has settled
    page.wait_for_function("""() => document.getAnimations().filter(a => {
        const t = a.effect && a.effect.target;
        return t && t.closest && t.closest('[role=dialog], [role=alertdialog]');
    }).every(a => a.playState !== 'running')""", timeout=10_000)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:10],
            "help": v["help"]} for v in result["violations"] if v["impact"] in ("critical", "serious")]
    (artifacts / f"axe-{state}.json").write_text(json.dumps(result["violations"], indent=1))
    return bad


def open_clip(page, name: str) -> None:
    page.locator("#asset-item", has_text=name).click()
    page.wait_for_function("n => document.querySelector('#editor-title')?.textContent === n", arg=name)
    page.wait_for_function("() => { const v = document.querySelector('#player'); return v && v.readyState >= 2 }")


def test_favicon_and_no_failed_requests(page, server):
    response = httpx.get(server[0] + "/favicon.ico", timeout=10)
    assert response.status_code == 200 and response.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert page.failed_responses == [], page.failed_responses


def test_axe_empty_and_clip_open(page, artifacts):
    assert audit(page, artifacts, "empty") == []
    open_clip(page, CLIP)
    assert audit(page, artifacts, "clip-open") == []
    # the landmarks and headings a screen reader navigates by
    assert page.locator("main").count() == 1 and page.locator("header").count() >= 1
    assert page.locator("h1").inner_text() == "MPR"
    assert {"Library", "New job", "Queue", "Asset details"} <= {
        t.strip().title() if t.isupper() else t.strip() for t in page.locator("h2").all_inner_texts()} | {
        t.strip() for t in page.locator("h2").all_text_contents()}
    for label, field in (("In (I)", "#in-point"), ("Out (O)", "#out-point"), ("Output name", "#output-name")):
        assert page.evaluate("([l, f]) => document.querySelector(`label[for='${f.slice(1)}']`)?.textContent"
                             ".replace(/\\s+/g, ' ').trim() === l", [label, field]), label


def test_axe_with_the_delete_dialog_open(page, artifacts):
    page.click("#delete-asset")
    page.wait_for_selector("[role=alertdialog]")
    assert page.get_by_label("Also delete the file from storage").count() >= 1
    assert audit(page, artifacts, "delete-dialog") == []
    page.keyboard.press("Escape")
    page.wait_for_selector("[role=alertdialog]", state="detached")


def test_axe_with_the_shortcuts_cheat_sheet_open(page, artifacts):
    page.click("#editor-title")
    page.keyboard.press("?")
    page.wait_for_selector("#shortcuts-dialog[role=dialog]")
    assert audit(page, artifacts, "shortcuts-dialog") == []
    page.keyboard.press("Escape")
    page.wait_for_selector("#shortcuts-dialog", state="detached")


def slow_preset(server) -> dict:
    """The veryslow preset the job tests encode with (created once; each test may run alone)."""
    found = [p for p in graphql(server, "{ presets { id name } }")["presets"] if p["name"] == SLOW_PRESET]
    if found:
        return found[0]
    return graphql(server, 'mutation { createPreset(input: {name: "%s", kind: "video", container: "mp4", '
                           'videoCodec: "libx264", crf: 23, speedPreset: "veryslow", maxHeight: 1080, '
                           'audioCodec: "aac", audioBitrate: 128}) { id name } }' % SLOW_PRESET)["createPreset"]


def test_axe_with_a_job_running_and_the_cancel_confirmation(page, server, artifacts):
    preset = slow_preset(server)
    data = graphql(server, '{ assets(search: "Test pattern") { nodes { id filename } } }')
    source = next(a for a in data["assets"]["nodes"] if a["filename"] == CLIP)
    job = graphql(server, 'mutation($i: CreateJobInput!) { createJob(input: $i) { id } }', {"i": {
        "sourceId": source["id"], "presetId": preset["id"], "outputName": "a11y-running"}})["createJob"]
    row = page.locator(f"#job-row[data-job-id='{job['id']}']")
    row.and_(page.locator("[data-status=running]")).wait_for(timeout=60_000)
    bar = row.locator("[role=progressbar]")
    assert bar.get_attribute("aria-label") == f"Progress of job {job['id']}"
    assert audit(page, artifacts, "job-running") == []
    row.locator(".job-cancel").click()
    page.wait_for_selector("[role=alertdialog]")
    assert "Cancel running job" in page.inner_text("[role=alertdialog]")
    assert audit(page, artifacts, "cancel-confirmation") == []
    page.click("#confirm-queue-action")
    row.and_(page.locator("[data-status=cancelled]")).wait_for()


def test_keyboard_reaches_and_opens_a_library_row(page):
    page.locator("#asset-search").focus()
    for _ in range(12):  # Tab from the search field on until a library row has the focus
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement?.id === 'asset-item'"):
            break
    else:
        raise AssertionError("Tab never reached a library row")
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert ring != "none"  # the focus is visible
    first = page.evaluate("() => document.activeElement.dataset.name")
    page.keyboard.press("ArrowDown")
    second = page.evaluate("() => document.activeElement.dataset.name")
    assert second and second != first
    page.keyboard.press("Enter")
    page.wait_for_function("n => document.querySelector('#editor-title')?.textContent === n", arg=second)
    assert page.get_attribute(f"#asset-item[data-name='{second}']", "aria-selected") == "true"


def test_space_after_clicking_the_picture_toggles_once(page):
    open_clip(page, WEBM)
    page.evaluate("""() => { const v = document.querySelector('#player'); window.__toggles = 0;
        v.addEventListener('play', () => window.__toggles++); v.addEventListener('pause', () => window.__toggles++); }""")
    box = page.locator("#player").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)  # the picture, not its controls
    page.wait_for_timeout(400)
    assert page.evaluate("() => document.activeElement?.id") == "player"
    before = page.evaluate("() => [document.querySelector('#player').paused, window.__toggles]")
    page.keyboard.press("Space")
    page.wait_for_function("n => window.__toggles > n", arg=before[1])
    page.wait_for_timeout(500)  # a second (native) toggle would land within this
    paused, toggles = page.evaluate("() => [document.querySelector('#player').paused, window.__toggles]")
    assert paused != before[0] and toggles == before[1] + 1
    if paused:  # make it play, to see the button's state
        page.keyboard.press("Space")
        page.wait_for_function("() => !document.querySelector('#player').paused")
    page.wait_for_function("() => document.querySelector('#play-toggle').dataset.playing === 'true'")
    assert page.get_attribute("#play-toggle", "aria-label") == "Pause"
    assert page.locator("#play-toggle .icon-pause").is_visible() and not page.locator("#play-toggle .icon-play").is_visible()
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelector('#play-toggle').dataset.playing === 'false'")
    assert page.get_attribute("#play-toggle", "aria-label") == "Play"
    assert page.locator("#play-toggle .icon-play").is_visible()


def test_tag_field_keeps_fast_typing_and_backspace_removes_the_last_tag(page):
    chips = page.locator(".tag-chip")
    start = chips.count()
    page.click("#tag-input")
    assert page.evaluate("() => getComputedStyle(document.querySelector('#tag-box')).outlineStyle") != "none"
    for word in ("fractal", "mandelbrotset", "zoom"):
        page.keyboard.type(word, delay=0)  # as fast as the browser takes keys: no letter may be lost
        page.keyboard.press("Enter")
    page.wait_for_function("n => document.querySelectorAll('.tag-chip').length === n", arg=start + 3)
    assert [t.strip() for t in chips.all_inner_texts()][-3:] == ["fractal", "mandelbrotset", "zoom"]
    assert page.input_value("#tag-input") == ""
    page.keyboard.type("x", delay=0)
    page.keyboard.press("Backspace")  # deletes the letter, not a tag
    page.keyboard.press("Backspace")  # the field is empty now: the last tag goes
    page.wait_for_function("n => document.querySelectorAll('.tag-chip').length === n", arg=start + 2)
    assert [t.strip() for t in chips.all_inner_texts()][-1] == "mandelbrotset"
    remove = page.get_by_role("button", name="Remove tag fractal")
    remove.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("n => document.querySelectorAll('.tag-chip').length === n", arg=start + 1)


def test_in_and_out_handles_are_sliders(page):
    """The open clip (Mandelbrot, 25 fps): Tab reaches the in handle; ←/→ step a frame, Shift ten,
    pressed as fast as the keyboard repeats; the value reads as a timecode."""
    page.locator("#asset-search").focus()
    tab_to(page, "#tl-in")
    assert page.get_attribute("#tl-in", "role") == "slider" and page.get_attribute("#tl-in", "aria-label") == "In point"
    for key in ("ArrowRight",) * 5 + ("Shift+ArrowRight",):
        page.keyboard.press(key)
    page.wait_for_function("() => document.querySelector('#in-point').value === '00:00:00.600'")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => document.querySelector('#tl-in').getAttribute('aria-valuetext') === '00:00:00.560'")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "tl-out"
    page.keyboard.press("Shift+ArrowLeft")
    page.wait_for_function("() => document.querySelector('#out-point').value === '00:00:07.600'")
    assert page.get_attribute("#tl-out", "aria-valuenow") == "7.6"


def tab_to(page, selector: str, limit: int = 150) -> None:
    """Press Tab until the focused element matches `selector` (as a keyboard user would)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => !!document.activeElement?.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_alone_opens_cuts_submits_cancels_retries_and_downloads(browser, server, artifacts):
    slow_preset(server)  # before the page loads: the preset list is read then
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        ui_stack.sign_in(page, server[0])  # the login form, typed
        page.wait_for_selector("#asset-item")
        tab_to(page, f"#asset-item[data-name='{CLIP}']")
        page.keyboard.press("Enter")
        page.wait_for_function("n => document.querySelector('#editor-title')?.textContent === n", arg=CLIP)
        page.wait_for_function("() => document.querySelector('#player')?.readyState >= 2")
        tab_to(page, "#player")
        for _ in range(30):  # 1 s at 30 fps
            page.keyboard.press("ArrowRight")
        page.keyboard.press("i")
        page.wait_for_function("() => document.querySelector('#in-point').value === '00:00:01.000'")
        for _ in range(9):  # 3 s on, ten frames a press (a short cut: the retry below runs to the end)
            page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("o")
        page.wait_for_function("() => document.querySelector('#out-point').value === '00:00:04.000'")

        tab_to(page, "#preset-select")
        page.keyboard.press("Enter")
        # the preset list is open once one of its options has the focus (the library is a listbox
        # too, so "[role=listbox]" alone is there before the select opens)
        page.wait_for_function("() => document.activeElement?.classList.contains('preset-option')")
        page.keyboard.type("Slow", delay=100)  # the select's typeahead, at a person's typing speed
        page.wait_for_function("n => document.activeElement?.textContent === n", arg=SLOW_PRESET)
        page.keyboard.press("Enter")
        page.wait_for_function("n => document.querySelector('#preset-select').textContent.includes(n)", arg=SLOW_PRESET)
        tab_to(page, "#output-name")
        page.keyboard.press("Control+A")
        page.keyboard.type("keyboard-only", delay=0)
        tab_to(page, "#submit-job")
        page.keyboard.press("Enter")
        row = page.locator("#job-row", has_text="keyboard-only.mp4").first
        row.and_(page.locator("[data-status=running]")).wait_for(timeout=60_000)

        tab_to(page, "#job-row[data-status=running] .job-cancel")
        page.keyboard.press("Enter")
        page.wait_for_selector("[role=alertdialog]")
        tab_to(page, "#confirm-queue-action", limit=5)  # the dialog keeps the focus inside
        page.keyboard.press("Enter")
        row.and_(page.locator("[data-status=cancelled]")).wait_for()

        tab_to(page, "#job-row[data-status=cancelled] .job-retry")
        page.keyboard.press("Enter")
        row.and_(page.locator("[data-status=succeeded]")).wait_for(timeout=180_000)
        assert "attempt 2" in row.inner_text()
        tab_to(page, "#job-row[data-status=succeeded] .job-download")
        with page.expect_download() as info:
            page.keyboard.press("Enter")
        assert info.value.suggested_filename == "keyboard-only.mp4"
        assert info.value.path().stat().st_size > 10_000
        page.screenshot(path=str(artifacts / "23-keyboard-only.png"))
    finally:
        context.close()
