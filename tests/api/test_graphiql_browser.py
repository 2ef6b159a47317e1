"""GET /graphql in a real (headless Debian) Chromium with every non-loopback request blocked:
the browser signs in as a user (POST /api/auth/login, the login page's form), then the explorer
renders from the vendored assets, introspects the schema and runs a query with that session."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from access_helpers import PASSWORD, make_user
from api_helpers import free_port
from backend.api.app import create_app
from backend.config import REPO_ROOT
from skips import missing_tool

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = [pytest.mark.slow, pytest.mark.browser]


async def test_graphiql_works_offline(api_settings, db, presets, live_server):
    if not Path(CHROMIUM).exists():
        missing_tool("chromium", "apt-get install -y chromium; make test installs it")
    from playwright.async_api import async_playwright

    port = free_port()  # the app is told the address the browser uses: its origin checks accept only that
    server = live_server(create_app(api_settings.with_(port=port), run_jobs=False, db_pool=False), port)
    viewer = await make_user("viewer")
    outside: list[str] = []
    failed: list[str] = []

    async def route(route):
        url = urlparse(route.request.url)
        if url.hostname not in ("127.0.0.1", "localhost"):
            outside.append(route.request.url)
            await route.abort()
            return
        await route.continue_()

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            page.on("requestfailed", lambda r: failed.append(r.url))
            await page.route("**/*", route)
            # sign in as the login page's form does; the session cookie then rides along
            await page.goto(f"{server.url}/healthz")
            signed_in = await page.request.post(f"{server.url}/api/auth/login",
                                                form={"username": viewer.username, "password": PASSWORD},
                                                max_redirects=0)
            assert signed_in.status == 303 and signed_in.headers["location"] == "/"
            await page.goto(f"{server.url}/graphql", wait_until="networkidle")
            await page.wait_for_selector(".graphiql-container", timeout=30_000)
            await page.click(".graphiql-execute-button")
            await page.wait_for_function(
                "() => document.querySelector('.result-window')?.innerText.includes('pageInfo')", timeout=30_000)
            result = await page.inner_text(".result-window")
            artifacts = REPO_ROOT / "test-artifacts" / "api"
            artifacts.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(artifacts / f"graphiql-{'pg' if api_settings.is_postgres else 'sqlite'}.png"))
        finally:
            await browser.close()
    assert '"jobs"' in result and "UNAUTHENTICATED" not in result
    assert outside == [] and failed == []
