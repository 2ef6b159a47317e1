"""The login the UI asks for when it is exposed (MPR_UI_LOGIN=1 stands in for a non-loopback bind):
the admin's users (piccolo BaseUser), checked through the API; a signed cookie keeps the session."""
from __future__ import annotations

import pytest

import ui_stack

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(400)]


@pytest.fixture(scope="module")
def login_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-login-server")
    proc, port = ui_stack.start_and_wait(root, demo=False, env={"MPR_UI_LOGIN": "1"})
    yield f"http://127.0.0.1:{port}"
    ui_stack.stop(proc)


def test_login_gate(browser, login_server, artifacts):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(login_server + "/")
    page.wait_for_selector("#login-username")
    assert page.locator("#asset-list").count() == 0
    page.fill("#login-username", "admin")
    page.fill("#login-password", "wrong password")
    page.click("#login-submit")
    page.wait_for_selector("#login-error")
    assert "Wrong user name or password" in page.text_content("#login-error")
    assert page.locator("#asset-list").count() == 0
    page.screenshot(path=str(artifacts / "00-login-1280.png"))

    page.fill("#login-password", ui_stack.ADMIN_PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#asset-list")
    page.wait_for_selector("#preset-select")
    assert "admin" in page.text_content("header, body")
    # the signed cookie survives a reload; a browser without it is asked again
    page.reload()
    page.wait_for_selector("#asset-list")
    other = browser.new_context().new_page()
    other.goto(login_server + "/")
    other.wait_for_selector("#login-username")
    assert other.locator("#asset-list").count() == 0
    other.context.close()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#login-username")
    context.close()
