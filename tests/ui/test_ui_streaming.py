"""A streaming package played through the UI in headless Chromium: a job made from an output template
in the new-job panel (#template-select), then played by the hls.js player (Stream on the job row),
switched by hand between two renditions (#rendition-menu) with currentTime advancing across the
switch and no hls.js error, and the storyboard thumbnail shown while the scrub bar is hovered.
A sequence rendered with the template chosen there (#render-sequence) streams the same way.
"""
from __future__ import annotations

import pytest

import ui_stack
from test_ui_sequence import WIDE, open_and_select
from ui_stack import graphql

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

SOURCE = "Color bars 1080p.mp4"  # 10 s, 25 fps (a demo clip)
TEMPLATE = "UI test ladder"


@pytest.fixture(scope="module")
def template(server):
    """Two small rungs and 2 s segments: quick to encode, still a real switch between renditions."""
    base, _ = server

    def rung(name, height, kbps):
        return {"role": "rendition", "preset": {"name": name, "kind": "video", "container": "mp4",
                                                "videoCodec": "libx264", "videoBitrate": kbps, "maxHeight": height,
                                                "speedPreset": "ultrafast", "audioCodec": "aac", "audioBitrate": 64}}

    graphql(base, "mutation($input: TemplateInput!) { createTemplate(input: $input) { id } }",
            {"input": {"name": TEMPLATE, "segmentSeconds": 2, "outputs": [
                rung("360p", 360, 700), rung("180p", 180, 200), {"role": "storyboard", "interval": 1}]}})
    return TEMPLATE


@pytest.fixture(scope="module")
def page(browser, server, template):
    base, _ = server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    ui_stack.sign_in(pg, base)  # every page needs a session
    pg.wait_for_selector("#asset-item")
    yield pg
    context.close()


def test_template_job_plays_switches_renditions_and_shows_the_storyboard(page, artifacts):
    pg = page
    pg.locator("#asset-item", has_text=SOURCE).click()
    pg.wait_for_function("n => document.querySelector('#editor-title')?.textContent === n", arg=SOURCE)
    pg.click("#template-select")
    pg.get_by_role("option", name=TEMPLATE, exact=True).click()
    pg.wait_for_function("n => document.querySelector('#template-select')?.textContent.includes(n)", arg=TEMPLATE)
    assert pg.locator("#preset-select").count() == 0  # a template's outputs replace the single preset
    pg.click("#submit-job")

    row = pg.locator("#job-row").first
    row.locator(".job-stream").wait_for(timeout=240_000)  # the Stream action appears once it succeeded
    row.locator(".job-stream").click()
    pg.wait_for_selector("#stream-video")
    pg.wait_for_function("() => document.querySelectorAll('#rendition-menu option').length === 3")
    options = pg.locator("#rendition-menu option").all_inner_texts()
    assert options == ["Auto", "180p", "360p"]  # hls.js orders levels by bandwidth
    pg.evaluate("() => document.querySelector('#stream-video').play()")

    def now() -> float:
        return pg.evaluate("() => document.querySelector('#stream-video').currentTime")

    pg.select_option("#rendition-menu", label="180p")
    pg.wait_for_function("() => document.querySelector('#rendition-current').textContent === '180p'")
    before = now()
    pg.wait_for_function("t => document.querySelector('#stream-video').currentTime > t + 0.5", arg=before)
    pg.select_option("#rendition-menu", label="360p")
    pg.wait_for_function("() => document.querySelector('#rendition-current').textContent === '360p'")
    switched_at = now()
    assert switched_at > before
    pg.wait_for_function("t => document.querySelector('#stream-video').currentTime > t + 1.0", arg=switched_at)
    assert pg.evaluate("() => document.querySelector('#stream-video').dataset.hlsError || ''") == ""
    assert pg.evaluate("() => document.querySelector('#stream-video').error") is None
    assert "Mbit/s" in pg.inner_text("#rendition-bandwidth")

    scrub = pg.locator("#stream-scrub").bounding_box()
    pg.mouse.move(scrub["x"] + scrub["width"] * 0.55, scrub["y"] + scrub["height"] / 2)
    thumb = pg.locator("#storyboard-thumb")
    thumb.wait_for()
    style = thumb.get_attribute("style")
    assert "storyboard-001.jpg" in style and "/media/pkg/" in style
    # the sprite the thumbnail shows loads under the package's signed prefix
    sheet = style.split('url("', 1)[1].split('")', 1)[0]
    assert pg.evaluate("u => fetch(u).then(r => r.status)", sheet) == 200
    pg.screenshot(path=str(artifacts / "streaming-player.png"))


def test_a_sequence_rendered_with_the_chosen_template_streams(browser, server, template, artifacts):
    """Render sequence uses the job form's Outputs: with a template chosen, one job renders the
    sequence and makes the template's package from it (renderSequence(templateId)), played by Stream."""
    base, _ = server
    pg = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    pg.set_default_timeout(30_000)
    ui_stack.sign_in(pg, base)
    pg.wait_for_selector("#sequence-track")
    for name, start, end in ((SOURCE, "00:00:01.000", "00:00:02.000"), (WIDE, "00:00:03.000", "00:00:04.500")):
        open_and_select(pg, name, start, end)
        pg.click("#append-to-sequence")
    pg.wait_for_function("() => document.querySelectorAll('.sequence-clip').length === 2")
    pg.click("#template-select")
    pg.get_by_role("option", name=TEMPLATE, exact=True).click()
    pg.wait_for_function("n => document.querySelector('#render-sequence')?.textContent.includes(n)", arg=TEMPLATE)
    pg.click("#render-sequence")

    query = ("{ jobs(first: 5) { nodes { id status sequenceId templateId playbackUrl plan "
             "outputs { name status height } } } }")
    pg.wait_for_function("() => document.querySelectorAll('#job-row').length === 2")  # the first test's and this
    job_id = next(j["id"] for j in graphql(base, query)["jobs"]["nodes"] if j["sequenceId"])
    row = pg.locator(f'#job-row[data-job-id="{job_id}"]')
    row.locator(".job-stream").wait_for(timeout=240_000)  # it succeeded: Stream plays its package
    job = next(j for j in graphql(base, query)["jobs"]["nodes"] if j["id"] == job_id)
    assert job["status"] == "SUCCEEDED" and job["templateId"], job
    assert job["plan"]["mode"] == "sequence+template" and job["plan"]["frames_out"] == 30 + 45  # 1 s + 1.5 s at 30 fps (the faster source)
    assert {o["name"]: o["height"] for o in job["outputs"] if o["status"] == "succeeded"}.items() >= {
        "360p": 360, "180p": 180}.items()
    assert job["playbackUrl"].endswith("/master.m3u8")
    row.locator(".job-stream").click()
    pg.wait_for_selector("#stream-video")
    pg.wait_for_function("() => document.querySelectorAll('#rendition-menu option').length === 3")
    pg.evaluate("() => document.querySelector('#stream-video').play()")
    pg.wait_for_function("() => document.querySelector('#stream-video').currentTime > 0.5")
    assert pg.evaluate("() => document.querySelector('#stream-video').dataset.hlsError || ''") == ""
    pg.screenshot(path=str(artifacts / "sequence-template-stream.png"))
