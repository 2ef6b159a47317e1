"""Queue, downloads and library paging in headless Chromium (issue 23): the ⬇ link saves the
output's bytes (a plain <a download> to a link served as an attachment, not a page of the
client-side router), a job whose output was deleted says so instead of offering a dead link, image
and audio outputs open in an <img> / <audio> (not a dead <video>), finished jobs can be deleted one
by one or per filter (with a confirmation), "Cancelled" is a filter of its own, and the library
pages past its first 100 assets."""
from __future__ import annotations

import time

import pytest

import ui_stack
from ui_stack import graphql

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

SHORT = "Color bars 1080p.mp4"  # 10 s, 25 fps


def make_job(server, name: str, wait_for: tuple[str, ...] = ("succeeded",), preset_name: str = "H.264 480p") -> dict:
    data = graphql(server, '{ assets(search: "Color bars") { nodes { id filename } } '
                           'presets { id name } }')
    source = next(a for a in data["assets"]["nodes"] if a["filename"] == SHORT)
    preset = next(p for p in data["presets"] if p["name"] == preset_name)
    job = graphql(server, 'mutation($i: CreateJobInput!) { createJob(input: $i) { id } }', {"i": {
        "sourceId": source["id"], "presetId": preset["id"], "trimStart": 0, "trimEnd": 2, "outputName": name}})
    job_id = job["createJob"]["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = graphql(server, 'query($id: ID!) { job(id: $id) { id status outputKey outputAsset { id } } }',
                      {"id": job_id})["job"]
        if row["status"].lower() in wait_for:
            return row
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not reach {wait_for}: {row}")


@pytest.fixture(scope="module")
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    ui_stack.sign_in(pg, server[0])
    pg.wait_for_selector("#asset-item")
    yield pg
    context.close()


def row_of(page, job_id: str):
    return page.locator(f"#job-row[data-job-id='{job_id}']")


def test_download_saves_the_output_bytes(page, server, artifacts):
    job = make_job(server, "ui-download")
    row = row_of(page, job["id"])
    row.locator(".job-download").wait_for()
    link = row.locator(".job-download")
    assert link.get_attribute("download") == "ui-download.mp4"
    assert "dl=1" in link.get_attribute("href") and link.get_attribute("aria-label") == "Download ui-download.mp4"
    url = page.url
    with page.expect_download() as info:
        link.click()
    download = info.value
    saved = download.path()
    assert download.suggested_filename == "ui-download.mp4"
    expected = (server[1] / "media" / "out" / job["outputKey"]).read_bytes()
    assert saved.read_bytes() == expected and len(expected) > 10_000
    assert page.url == url and "Page not found" not in page.inner_text("body")  # the app stayed where it was
    page.screenshot(path=str(artifacts / "23-download-1280.png"))


def test_a_deleted_output_is_marked_not_linked(page, server):
    job = make_job(server, "ui-gone")
    row = row_of(page, job["id"])
    row.locator(".job-download").wait_for()
    graphql(server, 'mutation($id: ID!) { deleteAsset(id: $id, deleteFile: true) { deleted } }',
            {"id": job["outputAsset"]["id"]})
    row.locator(".job-output-deleted").wait_for(timeout=15_000)  # the poller brings the news
    assert row.locator(".job-download").count() == 0 and row.locator(".job-play").count() == 0


def test_image_and_audio_outputs_get_their_own_player(page, server, artifacts):
    for preset, name, selector in (("GIF preview", "ui-gif", "#player-image"),
                                   ("Poster JPEG", "ui-poster", "#player-image"),
                                   ("AAC audio", "ui-audio", "audio#player")):
        job = make_job(server, name, preset_name=preset)
        row = row_of(page, job["id"])
        row.locator(".job-play").click()
        page.wait_for_function("n => document.querySelector('#editor-title')?.textContent.startsWith(n)", arg=name)
        page.wait_for_selector(selector)
        assert page.locator("video#player").count() == 0, preset
        if selector == "#player-image":  # the picture decoded: a real image, not a broken icon
            page.wait_for_function("() => { const i = document.querySelector('#player-image');"
                                   " return i.complete && i.naturalWidth > 0 }")
            assert page.get_attribute("#player-image", "alt").startswith(name)
        else:
            page.wait_for_function("() => document.querySelector('audio#player').readyState >= 1")
            duration = page.eval_on_selector("audio#player", "a => a.duration")
            assert abs(duration - 2) < 0.2, duration
        page.screenshot(path=str(artifacts / f"23-output-{name}.png"))


def test_cancelled_is_its_own_filter_and_jobs_can_be_deleted(page, server):
    cancelled = make_job(server, "ui-to-cancel", wait_for=("queued", "running"))
    graphql(server, 'mutation($id: ID!) { cancelJob(id: $id) { id } }', {"id": cancelled["id"]})
    page.locator("#queue-filter").get_by_role("radio", name="Cancelled").click()
    row_of(page, cancelled["id"]).wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#job-row')].every(r => r.dataset.status === 'cancelled')")
    page.locator("#queue-filter").get_by_role("radio", name="Failed").click()
    page.wait_for_function(f"() => !document.querySelector(\"#job-row[data-job-id='{cancelled['id']}']\")")

    page.locator("#queue-filter").get_by_role("radio", name="All").click()
    row_of(page, cancelled["id"]).locator(".job-delete").click()
    row_of(page, cancelled["id"]).wait_for(state="detached")
    assert graphql(server, 'query($id: ID!) { job(id: $id) { id } }', {"id": cancelled["id"]})["job"] is None

    # "Done": clear every succeeded job, after a confirmation that can be declined
    page.locator("#queue-filter").get_by_role("radio", name="Done").click()
    page.wait_for_selector("#job-row[data-status=succeeded]")
    page.click("#queue-clear")
    page.wait_for_selector("[role=alertdialog]")
    assert "succeeded" in page.inner_text("[role=alertdialog]")
    page.click("#confirm-keep")
    page.wait_for_selector("[role=alertdialog]", state="detached")
    assert page.locator("#job-row").count() >= 1
    page.click("#queue-clear")
    page.click("#confirm-queue-action")
    page.wait_for_function("() => document.querySelectorAll('#job-row').length === 0")
    left = graphql(server, "{ jobs(first: 50) { nodes { status } } }")["jobs"]["nodes"]
    assert left == []  # succeeded gone; the cancelled one was deleted before


def test_the_library_pages_past_its_first_page(page, server):
    """450 error assets (rows only, no files): the list shows the first page, and scrolling fetches
    the rest page by page to the last one, holding at most WINDOW_PAGES pages."""
    from backend.catalog.tables import MediaAsset
    from ui.state.library import LIST_LIMIT, WINDOW_PAGES

    async def add_rows():
        rows = [MediaAsset(filename=f"bulk-{i:04d}.mp4", storage_key=f"bulk/{i:04d}.mp4", status="error",
                           error_message="not real") for i in range(450)]
        await MediaAsset.insert(*rows)

    ui_stack.on_catalog(server[1], add_rows)
    page.locator("#asset-area-filter").get_by_role("radio", name="Sources").click()
    page.click("#asset-status-filter")
    page.get_by_role("option", name="Error", exact=True).click()
    page.wait_for_function("() => document.querySelector('#asset-more')?.textContent.includes('350 more')")
    assert page.locator("#asset-item").count() == 100
    ui_stack.scroll_library_to_end(page)
    held = WINDOW_PAGES * LIST_LIMIT - (LIST_LIMIT - 450 % LIST_LIMIT)  # the window's last page is part-full
    page.wait_for_function("n => document.querySelectorAll('#asset-item').length === n", arg=held)
    before = page.eval_on_selector_all("#asset-item", "els => els.map(e => e.dataset.name)")
    page.wait_for_timeout(16_000)  # the poller's library refresh (every 5th tick) keeps the window where it is
    names = page.eval_on_selector_all("#asset-item", "els => els.map(e => e.dataset.name)")
    assert names == before and len(set(names)) == held
    assert names[-1] == "bulk-0000.mp4" and f"bulk-{held - 1:04d}.mp4" == names[0]  # newest first
    assert page.locator("#asset-more").count() == 0
    assert page.locator("#asset-item").last.is_visible()
    assert page.inner_text("#asset-count") == f"{450 - held + 1}–450 of 450"
