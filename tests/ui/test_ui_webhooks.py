"""The webhooks dialog in headless Chromium, against a served MPR and a receiver on loopback: an
admin sees the endpoint and its delivery log (delivered, HTTP 200), replays a delivery with
Redeliver and the receiver gets the same event again; an editor has no Webhooks button."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

import ui_stack
from backend.catalog import webhooks

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]


class Receiver:
    def __init__(self):
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(self.bodies) >= count, self.bodies


def test_webhooks_dialog_shows_the_log_and_redelivers(browser, server, artifacts):
    base, root = server
    receiver = Receiver()
    try:
        made = httpx.post(base + "/graphql", headers={"Authorization": f"Bearer {ui_stack.API_TOKEN}"}, timeout=10,
                          json={"query": 'mutation($url: String!) { createWebhook(input: {url: $url, '
                                         'eventTypes: ["asset.ready"]}) { webhook { id } } }',
                                "variables": {"url": receiver.url}}).json()
        hook_id = made["data"]["createWebhook"]["webhook"]["id"]
        ui_stack.on_catalog(root, lambda: webhooks.emit("asset.ready", "asset:1", {"asset": {"id": 1}}))
        receiver.wait(1)

        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.set_default_timeout(30_000)
        ui_stack.sign_in(page, base)
        page.click("#webhooks-open")
        page.wait_for_selector(f"#webhook-row-{hook_id}")
        assert receiver.url in page.inner_text(f"#webhook-row-{hook_id}")
        delivery = page.locator(".webhook-delivery").first
        delivery.wait_for()
        page.wait_for_function("() => document.querySelector('.webhook-delivery-status')?.textContent === 'delivered'")
        assert "HTTP 204" in delivery.inner_text() and "asset.ready" in delivery.inner_text()

        delivery.locator(".webhook-redeliver").click()
        receiver.wait(2)
        assert receiver.bodies[1]["id"] == receiver.bodies[0]["id"]  # the same event, again
        page.wait_for_function("() => document.querySelectorAll('.webhook-delivery').length === 2")
        page.click("#webhooks-refresh")
        page.wait_for_function("() => [...document.querySelectorAll('.webhook-delivery-status')]"
                               ".every(e => e.textContent === 'delivered')")
        assert "replay of" in page.locator(".webhook-delivery").first.inner_text()
        page.screenshot(path=str(artifacts / "webhooks-dialog.png"))

        ui_stack.add_user(root, "hook-editor", "hook-editor-password", "editor")
        other = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        ui_stack.sign_in(other, base, "hook-editor", "hook-editor-password")
        other.wait_for_selector("#signed-in-user")
        assert other.locator("#webhooks-open").count() == 0
    finally:
        receiver.server.shutdown()
