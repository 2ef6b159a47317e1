"""The Rules list in headless Chromium: a rule an admin created over GraphQL shows in the top bar's
Rules popover with its action and counts, for a signed-in user (the list comes through GraphQL)."""
from __future__ import annotations

import pytest

import ui_stack
from ui_stack import graphql

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]


def test_the_rules_list_shows_each_rule(browser, server, artifacts):
    presets = {p["name"]: p["id"] for p in graphql(server, "{ presets { id name } }")["presets"]}
    rule = graphql(server, "mutation($i: RuleInput!) { createRule(input: $i) { id } }",
                   {"i": {"name": "UI list rule", "presetId": presets["H.264 480p"], "enabled": False,
                          "match": {"pathPrefix": "nothing-here/"}}})["createRule"]
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(30_000)
    ui_stack.sign_in(page, server[0])
    page.click("#rules-button")
    row = page.locator(f"#rule-row-{rule['id']}")
    row.wait_for()
    text = row.inner_text()
    page.screenshot(path=str(artifacts / "rules-list.png"))
    assert "UI list rule" in text and "off" in text
    assert "preset H.264 480p" in text and "0 matched · 0 jobs" in text
