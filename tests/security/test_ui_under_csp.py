"""The real UI works under the page CSP and the origin checks: headless Chromium loads the
timeline from the app's own origin, opens the Reflex socket, lists the library and plays an
asset, and the browser reports no Content-Security-Policy violation on the way — nor on the
admin's login page and the GraphQL explorer."""
from __future__ import annotations

from pathlib import Path

import pytest

import ui_stack
from skips import missing_tool

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
RECORD = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""


def test_ui_loads_and_plays_under_the_csp(stack, tmp_path):
    if not Path(CHROMIUM).exists():
        missing_tool("chromium", "make test installs it; or apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    from backend.media.clips import generate_clip

    clip = tmp_path / "csp-clip.mp4"
    generate_clip(clip, duration=2.0, width=160, height=120, fps=25, gop=25)
    assert stack.upload(clip.read_bytes(), "csp-clip.mp4")["data"]["uploadAsset"]["status"] == "READY"

    console: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(30_000)
            page.add_init_script(RECORD)
            page.on("console", lambda m: console.append(m.text))
            ui_stack.sign_in(page, stack.url)  # every page needs a session; waits for #asset-list
            page.locator("[id^=asset-item]", has_text="csp-clip").first.click()
            page.wait_for_selector("#player")
            page.wait_for_function("() => { const v = document.querySelector('#player');"
                                   " return v && v.readyState >= 1; }")
            violations = page.evaluate("window.__violations")
            # the admin (a Vue app) and the GraphQL explorer run under the same policy
            for path, ready in (("/admin/", "input"), ("/graphql", ".graphiql-container")):
                other = browser.new_page()
                other.add_init_script(RECORD)
                other.on("console", lambda m: console.append(m.text))
                other.goto(stack.url + path, wait_until="networkidle")
                other.wait_for_selector(ready, timeout=30_000)
                violations += other.evaluate("window.__violations")
        finally:
            browser.close()
    assert violations == [], violations
    assert not [line for line in console if "Content Security Policy" in line or "Refused to" in line], console
