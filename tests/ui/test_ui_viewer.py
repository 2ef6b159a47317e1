"""A viewer sees no edit control: signed in through the login page as a `viewer`, the workspace
shows the library, the player and the queue but no upload, scan, save, tag editing, delete,
submit-job, cancel or retry (the API refuses those to a viewer anyway); an editor signed in the
same way sees every one of them, so the selectors are the live ones."""
from __future__ import annotations

import httpx
import pytest

import ui_stack

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(400)]

VIEWER, EDITOR, PASSWORD = "vic", "eddie", "role test password"
EDIT_CONTROLS = ("#upload-button", "#scan-folder", "#save-details", "#delete-asset", "#tag-input",
                 "#submit-job", ".job-retry", "#append-to-sequence", "#render-sequence")  # and #admin-link: admins


def gql(base: str, query: str, variables: dict | None = None) -> dict:
    resp = httpx.post(base + "/graphql", json={"query": query, "variables": variables or {}},
                      headers={"Authorization": f"Bearer {ui_stack.API_TOKEN}"}, timeout=30)
    body = resp.json()
    assert not body.get("errors"), body
    return body["data"]


@pytest.fixture(scope="module")
def roles_server(server):
    """The demo server, with a viewer, an editor and one cancelled job (retryable) in the queue."""
    base, root = server
    ui_stack.add_user(root, VIEWER, PASSWORD, "viewer")
    ui_stack.add_user(root, EDITOR, PASSWORD, "editor")
    asset = gql(base, "{ assets(first: 1, status: [READY]) { nodes { id } } }")["assets"]["nodes"][0]

    async def failed_job() -> None:  # written as failed: no executor claims it, the queue offers Retry
        from backend.catalog.tables import TranscodeJob

        await TranscodeJob.insert(TranscodeJob(source=int(asset["id"]), status="failed", error="for the role test",
                                               output_filename="viewer-test.mp4", output_key="viewer-test.mp4"))

    ui_stack.on_catalog(root, failed_job)
    return base


def open_workspace(browser, base: str, username: str):
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(20_000)
    ui_stack.sign_in(page, base, username, PASSWORD)
    page.wait_for_selector("#asset-item")
    page.locator("#asset-item").first.click()
    page.wait_for_selector("#asset-details")
    page.wait_for_selector("#job-row")
    return page


def test_a_viewer_sees_no_edit_control(browser, roles_server, artifacts):
    page = open_workspace(browser, roles_server, VIEWER)
    assert page.text_content("#signed-in-user") == VIEWER
    page.wait_for_selector("#submit-job-viewer-note")
    for selector in EDIT_CONTROLS + (".job-cancel", "#admin-link"):
        assert page.locator(selector).count() == 0, selector
    assert page.locator("#player").count() == 1 and page.locator("#asset-list").count() == 1
    assert page.get_attribute("#asset-comments", "readonly") is not None
    page.screenshot(path=str(artifacts / "viewer-workspace.png"))
    page.context.close()


def test_an_editor_sees_them(browser, roles_server):
    page = open_workspace(browser, roles_server, EDITOR)
    for selector in EDIT_CONTROLS:
        page.wait_for_selector(selector, state="attached")
    assert page.locator("#submit-job-viewer-note").count() == 0
    assert page.get_attribute("#asset-comments", "readonly") is None
    assert page.locator("#admin-link").count() == 0  # an editor is no admin
    page.context.close()


def test_an_admin_gets_the_admin_link(browser, roles_server):
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(20_000)
    ui_stack.sign_in(page, roles_server)
    page.wait_for_selector("#admin-link")
    page.wait_for_selector("#upload-button")
    page.context.close()
