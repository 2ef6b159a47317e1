"""The trim-mode control of the copy presets in headless Chromium: choosing "Smart cut" shows what
the server computed from the source's keyframes (trimPlan), follows the in/out fields, and the
submitted job runs as a smart cut (checked through GraphQL)."""
from __future__ import annotations

import time

import pytest

import ui_stack
from ui_stack import graphql
from backend.config import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts" / "ui"

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

CLIP = "Test pattern 720p.mp4"  # 20 s, 30 fps, a keyframe every 2 s
COPY = "Trim only (stream copy)"


def wait_plan(page, expected: str, timeout: float = 30.0) -> None:
    """Wait until #trim-plan reads `expected` (or contains it, for a fragment); say what it read."""
    deadline = time.monotonic() + timeout
    text = None
    while time.monotonic() < deadline:
        text = page.evaluate("() => document.querySelector('#trim-plan')?.textContent ?? null")
        if text is not None and (text == expected or expected.startswith("…") and expected[1:] in text):
            return
        page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / "trim-mode-failed.png"))
    state = page.evaluate("() => [document.querySelector('#in-point')?.value, document.querySelector('#out-point')?.value,"
                          " document.querySelector('#trim-mode')?.outerHTML.slice(0, 400)]")
    raise AssertionError(f"#trim-plan reads {text!r}, expected {expected!r}; in/out/control: {state}")


def test_smart_trim_mode_says_what_it_will_do_and_runs(browser, server, artifacts):
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(30_000)
    ui_stack.sign_in(page, server[0])  # every page needs a session
    page.locator("#asset-item", has_text=CLIP).click()
    page.wait_for_function("n => document.querySelector('#editor-title')?.textContent === n", arg=CLIP)
    page.wait_for_function("() => { const v = document.querySelector('#player'); return v && v.readyState >= 2 }")
    page.click("#preset-select")
    page.get_by_role("option", name=COPY, exact=True).click()
    page.wait_for_selector("#trim-mode")
    for field, text in (("in-point", "00:00:01.500"), ("out-point", "00:00:10.200")):
        page.fill(f"#{field}", text)
        page.press(f"#{field}", "Enter")
        page.wait_for_function("([s, v]) => document.querySelector(s)?.value === v", arg=[f"#{field}", text])
    page.get_by_role("radio", name="Smart cut").click()
    wait_plan(page, "Re-encodes 0.50 s at the start and 0.20 s at the end, copies 8.0 s.")
    page.screenshot(path=str(artifacts / "trim-mode-smart.png"))
    # a new out point on a keyframe: nothing to re-encode at the end
    page.fill("#out-point", "00:00:10.000")
    page.press("#out-point", "Enter")
    page.wait_for_function("v => document.querySelector('#out-point')?.value === v", arg="00:00:10.000")
    wait_plan(page, "Re-encodes 0.50 s at the start, copies 8.0 s.")
    page.get_by_role("radio", name="Keyframe copy").click()
    wait_plan(page, "Copies 10.0 s without re-encoding, starting at the keyframe 1.50 s before the in point.")
    page.get_by_role("radio", name="Smart cut").click()
    page.fill("#output-name", "ui-smart-cut")
    page.click("#submit-job")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        jobs = graphql(server, '{ jobs(first: 5) { nodes { status trimMode outputFilename plan } } }')["jobs"]["nodes"]
        job = next((j for j in jobs if j["outputFilename"] == "ui-smart-cut.mp4"), None)
        if job and job["status"] in ("SUCCEEDED", "FAILED"):
            break
        time.sleep(0.5)
    assert job and job["status"] == "SUCCEEDED", job
    assert job["trimMode"] == "smart" and job["plan"]["smart_mode"] == "smart"
    assert job["plan"]["frames"] == 255  # 1.5 s .. 10.0 s at 30 fps
    page.context.close()
