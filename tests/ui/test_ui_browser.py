"""The timeline UI end to end in headless Chromium, against the real app served by backend.serve.serve().

One server for the module (temp SQLite + temp media root with the demo clips scanned in); the
tests run in order and build on each other's jobs: library → select → in/out by keys, fields
and drags → invalid trim → submit with live progress → output plays → cancel/retry → uploads →
details → pagination. Screenshots of the main states land in test-artifacts/ui/.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time

import pytest

import ui_stack
from ui_stack import graphql

from backend.media.clips import generate_clip

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

CLIP = "Test pattern 720p.mp4"  # 20 s, 1280x720, 30 fps
SHORT = "Color bars 1080p.mp4"  # 10 s, 25 fps
FAST_PRESET = "H.264 480p"
# the live-progress test needs a job that runs for several poll ticks even on a fast idle machine:
# the builtin 480p preset encodes the 20 s clip in about 2 s here, "slower" in about 6 s
LIVE_PRESET = "H.264 480p slower"


@pytest.fixture(scope="module")
def live_preset(server):
    graphql(server, 'mutation { createPreset(input: {name: "%s", kind: "video", container: "mp4", '
                    'videoCodec: "libx264", crf: 23, speedPreset: "slower", maxHeight: 480, '
                    'audioCodec: "aac", audioBitrate: 128}) { id } }' % LIVE_PRESET)
    return LIVE_PRESET


@pytest.fixture(scope="module")
def page(browser, server, live_preset):
    base, _ = server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    ui_stack.sign_in(pg, base)
    pg.wait_for_selector("#asset-item")
    yield pg
    context.close()


def shot(pg, artifacts, name: str) -> None:
    pg.screenshot(path=str(artifacts / f"{name}.png"))


def select_asset(pg, name: str) -> None:
    pg.locator("#asset-item", has_text=name).click()
    pg.wait_for_function(
        "name => document.querySelector('#editor-title')?.textContent === name", arg=name)
    pg.wait_for_function("() => { const v = document.querySelector('#player'); return v && v.readyState >= 2 }")


def set_field(pg, field: str, text: str) -> None:
    pg.fill(f"#{field}", text)
    pg.press(f"#{field}", "Enter")


def wait_value(pg, selector: str, value: str) -> None:
    pg.wait_for_function("([s, v]) => document.querySelector(s)?.value === v", arg=[selector, value])


def choose_preset(pg, name: str) -> None:
    pg.click("#preset-select")
    pg.get_by_role("option", name=name, exact=True).click()
    pg.wait_for_function("n => document.querySelector('#preset-select')?.textContent.includes(n)", arg=name)


def first_row(pg):
    return pg.locator("#job-row").first


def test_library_lists_the_demo_clips(page, artifacts):
    page.wait_for_function("() => document.querySelectorAll('#asset-list #asset-item').length === 3")
    items = page.locator("#asset-item")
    names = sorted(items.nth(i).get_attribute("data-name") for i in range(3))
    assert names == ["Color bars 1080p.mp4", "Mandelbrot 360p.webm", CLIP]
    row = page.locator("#asset-item", has_text=CLIP)
    assert row.get_attribute("data-status") == "ready"
    assert "0:20" in row.inner_text() and "1280×720" in row.inner_text()
    page.wait_for_function(  # posters load
        "() => [...document.querySelectorAll('#asset-item img')].filter(i => i.complete && i.naturalWidth > 0).length === 3")
    assert "3 assets" in page.inner_text("body")
    page.click("#scan-folder")  # nothing new in the folder: the toast says so
    page.get_by_text(re.compile(r"Scan: 0 added, 0 updated, 3 unchanged")).wait_for()
    # search and status filter narrow the list
    page.fill("#asset-search", "mandel")
    page.wait_for_function("() => document.querySelectorAll('#asset-item').length === 1")
    page.fill("#asset-search", "")
    page.wait_for_function("() => document.querySelectorAll('#asset-item').length === 3")
    shot(page, artifacts, "01-library-1280")


def test_select_plays_and_keyboard_sets_in_out(page, artifacts):
    select_asset(page, CLIP)
    assert page.input_value("#in-point") == "00:00:00.000"
    assert page.input_value("#out-point") == "00:00:20.000"
    assert abs(float(page.get_attribute("#timeline", "data-duration")) - 20) < 0.1
    # the filmstrip covers the whole track: one tile per sprite frame
    assert page.locator(".tl-strip > div").count() >= 6
    page.click("#editor-title")  # focus the page, not a field
    for _ in range(30):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 1.0) < 0.02")
    page.keyboard.press("i")
    wait_value(page, "#in-point", "00:00:01.000")
    page.keyboard.press("Shift+ArrowRight")  # 10 frames
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("ArrowLeft")  # 19 frames after the in point
    page.keyboard.press("o")
    wait_value(page, "#out-point", "00:00:01.633")
    assert page.text_content("#selection-duration") == "00:00:00.633"
    # Space plays; the playhead follows; K pauses
    head_before = page.eval_on_selector("#tl-playhead", "e => parseFloat(e.style.left)")
    page.keyboard.press(" ")
    page.wait_for_function("() => !document.querySelector('#player').paused")
    page.wait_for_function(
        "b => parseFloat(document.querySelector('#tl-playhead').style.left) > b + 0.5", arg=head_before)
    page.keyboard.press("k")
    page.wait_for_function("() => document.querySelector('#player').paused")
    assert re.match(r"\d\d:\d\d:\d\d[:;]\d\d$", page.text_content("#tl-time"))  # SMPTE
    # L plays forward, J shuttles backwards
    page.keyboard.press("l")
    page.wait_for_function("() => !document.querySelector('#player').paused")
    page.keyboard.press("k")
    t = page.eval_on_selector("#player", "v => v.currentTime")
    page.keyboard.press("j")
    page.wait_for_function("t => document.querySelector('#player').currentTime < t - 0.2", arg=t)
    page.keyboard.press("k")
    shot(page, artifacts, "02-selected-1280")


def test_fields_snap_to_frames_and_drag_handles(page):
    set_field(page, "in-point", "2.013")  # 30 fps: nearest frame start is 2.000
    wait_value(page, "#in-point", "00:00:02.000")
    set_field(page, "out-point", "00:00:05.02")
    wait_value(page, "#out-point", "00:00:05.033")
    set_field(page, "out-point", "5.04")  # snaps to the same frame: the field still shows the canonical value
    wait_value(page, "#out-point", "00:00:05.033")
    assert page.text_content("#selection-duration") == "00:00:03.033"
    # drag the out handle to the middle of the track, then the in handle to the start
    track = page.locator("#tl-track").bounding_box()
    handle = page.locator("#tl-out").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] * 0.5, handle["y"] + 10, steps=6)
    page.mouse.up()
    page.wait_for_function("() => document.querySelector('#out-point').value.startsWith('00:00:1')")
    out = page.input_value("#out-point")
    seconds = float(out.split(":")[-1])
    assert 9.5 <= seconds <= 10.5 and round(seconds * 30, 3) == round(seconds * 30)
    handle = page.locator("#tl-in").bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] - 30, handle["y"] + 10, steps=4)
    page.mouse.up()
    wait_value(page, "#in-point", "00:00:00.000")
    # clicking the track moves the playhead (seek) without touching the selection
    page.mouse.click(track["x"] + track["width"] * 0.25, track["y"] + track["height"] / 2)
    page.wait_for_function("() => Math.abs(document.querySelector('#player').currentTime - 5) < 0.2")
    assert page.input_value("#in-point") == "00:00:00.000"


def test_invalid_trim_is_explained_before_submitting(page, artifacts):
    set_field(page, "out-point", "00:00:25.000")
    page.wait_for_selector("#job-form-message")
    assert "past the end" in page.text_content("#job-form-message")
    assert page.is_disabled("#submit-job")
    set_field(page, "out-point", "00:00:04.000")
    set_field(page, "in-point", "00:00:06.000")
    page.wait_for_function(
        "() => document.querySelector('#job-form-message')?.textContent.includes('must come after')")
    assert page.is_disabled("#submit-job")
    shot(page, artifacts, "03-invalid-trim-1280")
    set_field(page, "in-point", "banana")
    page.wait_for_selector("#field-error")
    assert "not a time" in page.text_content("#field-error")
    page.click("button[title='Select the whole clip']")
    wait_value(page, "#out-point", "00:00:20.000")
    page.wait_for_selector("#job-form-message", state="detached")
    # the handles follow the state again after the earlier drags painted them
    track, out = page.locator("#tl-track").bounding_box(), page.locator("#tl-out").bounding_box()
    assert abs(out["x"] + out["width"] / 2 - (track["x"] + track["width"])) < 4
    assert page.is_enabled("#submit-job")


def test_submit_shows_live_progress_and_the_output_plays(page, artifacts):
    choose_preset(page, LIVE_PRESET)
    assert "H.264" in page.text_content("#preset-summary")
    assert page.input_value("#output-name") == "Test pattern 720p-h-264-480p-slower"
    page.fill("#output-name", "ui-full-480p")
    page.click("#submit-job")
    page.wait_for_selector("#job-row[data-status]")
    row = first_row(page)
    assert "ui-full-480p.mp4" in row.inner_text()
    seen: list[float] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = row.get_attribute("data-status")
        seen.append(float(row.locator("#job-progress").get_attribute("data-progress")))
        if status == "running" and 0 < seen[-1] < 100 and len(seen) % 4 == 0:
            shot(page, artifacts, "04-job-running-1280")
        if status in ("succeeded", "failed"):
            break
        page.wait_for_timeout(250)
    assert row.get_attribute("data-status") == "succeeded", row.inner_text()
    # the header's counts follow within a poll tick or two, not several seconds later
    page.wait_for_function("() => document.querySelector('#system-status')?.textContent.includes('0 running')",
                           timeout=4_000)
    assert any(0 < p < 100 for p in seen), f"no intermediate progress seen: {seen}"
    assert seen == sorted(seen), f"progress went backwards: {seen}"
    assert row.locator("#job-status").inner_text() == "succeeded"
    assert row.locator(".job-download").get_attribute("href").startswith("/media/out/")
    row.locator(".job-play").click()
    page.wait_for_function(
        "() => { const v = document.querySelector('#player');"
        " return v && v.readyState >= 2 && v.currentSrc.includes('/media/out/') }")
    assert page.text_content("#editor-title") == "ui-full-480p.mp4"
    assert abs(page.eval_on_selector("#player", "v => v.duration") - 20) < 0.3
    page.wait_for_selector(".tl-strip > div", timeout=30_000)  # its filmstrip arrives live
    shot(page, artifacts, "05-output-playing-1280")


def cancel_first_row(page) -> None:
    """Cancel the first job: at once when queued, through the confirmation when running."""
    first_row(page).locator(".job-cancel").click()
    page.wait_for_function("() => document.querySelector('[role=alertdialog]')"
                           " || document.querySelector('#job-row').dataset.status === 'cancelled'")
    if page.locator("[role=alertdialog]").count():
        page.click("#confirm-queue-action")
    page.wait_for_function("() => document.querySelector('#job-row').dataset.status === 'cancelled'")


def test_cancel_and_retry(page):
    select_asset(page, CLIP)
    choose_preset(page, "H.264 1080p")
    page.fill("#output-name", "ui-cancel-me")
    page.click("#submit-job")
    page.wait_for_function(
        "() => { const r = document.querySelector('#job-row');"
        " return r && r.textContent.includes('ui-cancel-me') && r.dataset.status === 'running' }", timeout=60_000)
    row = first_row(page)
    row.locator(".job-cancel").click()
    # a running job asks first; "Keep" leaves it running
    page.wait_for_selector("[role=alertdialog]")
    assert "Cancel running job" in page.inner_text("[role=alertdialog]")
    page.click("#confirm-keep")
    page.wait_for_selector("[role=alertdialog]", state="detached")
    assert row.get_attribute("data-status") in ("running", "succeeded")
    if row.get_attribute("data-status") == "running":
        row.locator(".job-cancel").click()
        page.click("#confirm-queue-action")
        page.wait_for_function("() => document.querySelector('#job-row').dataset.status === 'cancelled'")
    else:  # finished meanwhile on a fast machine: nothing to cancel; retry needs a cancelled job
        return
    row.locator(".job-retry").wait_for(state="visible")
    row.locator(".job-retry").click()
    page.wait_for_function(
        "() => ['queued', 'running'].includes(document.querySelector('#job-row').dataset.status)")
    # a retry by hand does not count against the automatic attempts: no "2/3"
    page.wait_for_function("() => document.querySelector('#job-row').textContent.includes('attempt 2')")
    assert "attempt 2/" not in row.inner_text()
    cancel_first_row(page)  # free the worker for the next tests


def test_upload_of_a_corrupt_file_shows_its_error(page, artifacts, tmp_path):
    bad = tmp_path / "broken-upload.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"not really a movie " * 200)
    page.set_input_files("#asset-upload input[type=file]", str(bad))
    page.wait_for_selector("#upload-error")
    assert "broken-upload.mp4" in page.text_content("#upload-error")
    item = page.locator("#asset-item", has_text="broken-upload.mp4")
    item.wait_for()
    assert item.get_attribute("data-status") == "error"
    assert item.locator(".asset-error").inner_text().strip()
    shot(page, artifacts, "06-upload-error-1280")


def test_upload_a_clip_then_edit_details_and_delete(page, server, tmp_path):
    clip = generate_clip(tmp_path / "ui upload.mp4", duration=2.0, width=320, height=240, fps=25)
    if page.locator("#upload-error").count():
        page.click("#upload-error")  # dismiss the previous error
    page.set_input_files("#asset-upload input[type=file]", str(clip))
    page.wait_for_function("() => document.querySelector('#editor-title')?.textContent === 'ui upload.mp4'")
    assert page.locator("#asset-item", has_text="ui upload.mp4").get_attribute("data-status") == "ready"
    page.fill("#tag-input", "b-roll, keeper")
    page.press("#tag-input", "Enter")
    page.wait_for_function("() => document.querySelectorAll('.tag-chip').length === 2")
    page.fill("#asset-comments", "uploaded by the UI test")
    page.wait_for_function("() => !document.querySelector('#save-details').disabled")
    page.click("#save-details")
    page.wait_for_function("() => document.querySelector('#save-details').disabled")
    # search matches tags; the API has the saved values
    page.fill("#asset-search", "keeper")
    page.wait_for_function("() => document.querySelectorAll('#asset-item').length === 1")
    saved = graphql(server, '{ assets(search: "ui upload") { nodes { tags comments } } }')
    assert saved["assets"]["nodes"] == [{"tags": ["b-roll", "keeper"], "comments": "uploaded by the UI test"}]
    page.click("#delete-asset")
    page.wait_for_selector("#confirm-delete")
    page.click("#delete-file")
    page.click("#confirm-delete")
    page.wait_for_function(
        "() => ![...document.querySelectorAll('#asset-item')].some(e => e.dataset.name === 'ui upload.mp4')")
    assert page.text_content("#editor-title") == "No asset selected"
    assert page.input_value("#output-name") == ""
    assert graphql(server, '{ assets(search: "ui upload") { totalCount } }')["assets"]["totalCount"] == 0
    page.fill("#asset-search", "")


def test_queue_pages_through_many_jobs(page, server, artifacts):
    _, root = server
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # no event loop next to Playwright's
        added = pool.submit(asyncio.run, _add_finished_jobs(root, 40)).result()
    page.wait_for_function(
        "n => /of (\\d+)/.test(document.querySelector('#queue-count').textContent) &&"
        " +document.querySelector('#queue-count').textContent.match(/of (\\d+)/)[1] >= n", arg=added)
    assert page.locator("#job-row").count() == 25
    first_id = first_row(page).get_attribute("data-job-id")
    page.click("#queue-next")
    page.wait_for_function(
        "id => document.querySelector('#job-row')?.dataset.jobId !== id", arg=first_id)
    assert page.text_content("#queue-count").startswith("26–")
    page.click("#queue-prev")
    page.wait_for_function("id => document.querySelector('#job-row')?.dataset.jobId === id", arg=first_id)
    page.locator("#queue-filter").get_by_role("radio", name="Failed").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#job-row')].every(r => r.dataset.status === 'failed')")
    assert page.locator("#job-row[data-status=failed] .job-error").first.inner_text()
    page.locator("#queue-filter").get_by_role("radio", name="All").click()
    page.wait_for_selector("#job-row[data-status=succeeded]")
    page.wait_for_timeout(700)  # progress bars finish their width transition
    shot(page, artifacts, "07-queue-1280")


def test_wide_layout_screenshot(server, browser, artifacts):
    base, _ = server
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    pg = context.new_page()
    ui_stack.sign_in(pg, base)
    pg.wait_for_selector("#asset-item")
    select_asset(pg, SHORT)
    pg.wait_for_selector("#job-row")
    shot(pg, artifacts, "08-editor-1920")
    # library | player | queue side by side, in that order, none cut off and nothing scrolls sideways
    boxes = {sel: pg.locator(sel).first.bounding_box() for sel in ("#asset-list", "#player", "#job-list")}
    library, player, queue = boxes["#asset-list"], boxes["#player"], boxes["#job-list"]
    assert library["x"] + library["width"] <= player["x"] <= player["x"] + player["width"] <= queue["x"], boxes
    assert queue["x"] + queue["width"] <= 1920 and all(b["width"] > 200 for b in boxes.values()), boxes
    assert player["width"] > max(library["width"], queue["width"]), boxes  # the middle column takes the rest
    assert pg.evaluate("() => document.documentElement.scrollWidth") <= 1920
    assert pg.text_content("#editor-title") == SHORT
    assert pg.locator("#asset-item").count() >= 3 and pg.locator("#job-row").count() >= 1
    context.close()


async def _add_finished_jobs(root, count: int) -> int:
    """Write finished jobs straight into the server's SQLite catalog (no FFmpeg needed)."""
    from backend.catalog import db as catalog_db
    from backend.catalog.engine import engine_from_url
    from backend.catalog.tables import MediaAsset, TranscodeJob

    # tests bind the catalog per test (tests/conftest.py `db`), so no engine needs restoring here
    catalog_db.bind_engine(engine_from_url(f"sqlite:///{root / 'data' / 'mpr.sqlite'}"))
    source = await MediaAsset.select(MediaAsset.id).where(MediaAsset.filename == SHORT).first()
    rows = [
        TranscodeJob(source=source["id"], status="failed" if i % 3 == 0 else "succeeded",
                     progress=100.0 if i % 3 else 37.0, output_filename=f"bulk-{i:03d}.mp4",
                     error="ffmpeg exited with code 1: bulk test failure" if i % 3 == 0 else "")
        for i in range(count)
    ]
    await TranscodeJob.insert(*rows)
    return await TranscodeJob.count()
