"""The login every browser goes through (loopback included): the login page posts to the server,
which sets an HttpOnly session cookie; the tab then acts as that user, with that user's role;
signing out revokes the session on the server; a one-time login link works once."""
from __future__ import annotations

import httpx
import pytest

import ui_stack

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(400)]

VIEWER, VIEWER_PW = "vera", "viewer password"


@pytest.fixture(scope="module")
def login_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui-login-server")
    proc, port = ui_stack.start_and_wait(root, demo=False)
    ui_stack.add_user(root, VIEWER, VIEWER_PW, "viewer")
    yield f"http://127.0.0.1:{port}", root
    ui_stack.stop(proc)


def test_login_gate(browser, login_server, artifacts):
    base, _ = login_server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(base + "/")
    page.wait_for_selector("#login-username")
    assert page.locator("#asset-list").count() == 0  # loopback asks for a login too
    page.fill("#login-username", "admin")
    page.fill("#login-password", "wrong password")
    page.click("#login-submit")
    page.wait_for_selector("#login-error")
    assert "Wrong user name or password" in page.text_content("#login-error")
    assert page.locator("#asset-list").count() == 0
    page.screenshot(path=str(artifacts / "00-login-1280.png"))

    ui_stack.sign_in(page, base)
    page.wait_for_selector("#preset-select")
    assert page.text_content("#signed-in-user") == "admin"
    cookie = next(c for c in context.cookies() if c["name"] == "mpr_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("mpr_session") == -1  # scripts never see it
    # the session survives a reload; a browser without it is asked again
    page.reload()
    page.wait_for_selector("#asset-list")
    other = browser.new_context().new_page()
    other.goto(base + "/")
    other.wait_for_selector("#login-username")
    assert other.locator("#asset-list").count() == 0
    other.context.close()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#login-username")
    # signing out ended the session on the server: the old cookie opens nothing any more
    stale = httpx.post(base + "/graphql", json={"query": "{ me { role } }"},
                       cookies={"mpr_session": cookie["value"]}, timeout=10)
    assert stale.status_code == 401
    context.close()


def test_a_viewer_acts_as_a_viewer(browser, login_server):
    base, _ = login_server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    ui_stack.sign_in(page, base, VIEWER, VIEWER_PW)
    assert page.text_content("#signed-in-user") == VIEWER
    # the UI's server calls the API with this tab's session, so the API sees a viewer
    cookie = next(c for c in context.cookies() if c["name"] == "mpr_session")
    me = httpx.post(base + "/graphql", json={"query": "{ me { role user { username } } }"},
                    cookies={"mpr_session": cookie["value"]}, timeout=10).json()["data"]["me"]
    assert me == {"role": "viewer", "user": {"username": VIEWER}}
    audit = httpx.post(base + "/graphql", json={"query": "{ auditLog(first: 50) { actor action ok } }"},
                       headers={"Authorization": f"Bearer {ui_stack.API_TOKEN}"}, timeout=10).json()
    assert {"actor": f"user:{VIEWER}", "action": "login", "ok": True} in audit["data"]["auditLog"]
    context.close()


def test_the_login_link_signs_in_once(browser, login_server):
    from backend.catalog.accounts import user_by_name
    from backend.catalog.sessions import create_login_link

    base, root = login_server

    async def link() -> str:
        return await create_login_link((await user_by_name("admin")).id)

    secret = ui_stack.on_catalog(root, link)
    page = browser.new_context().new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/api/auth/link/{secret}")
    page.wait_for_selector("#asset-list")
    assert page.text_content("#signed-in-user") == "admin"
    again = browser.new_context().new_page()
    response = again.goto(f"{base}/api/auth/link/{secret}")
    assert response.status == 403 and "already used" in again.text_content("body")
    again.context.close()
    page.context.close()
