"""The Rules list's pure parts: what a row shows, and the query the UI sends (as the tab's user)."""
from __future__ import annotations

import json

import httpx

from ui import api
from ui.models import rule_row

from test_ui_units import fake_api  # noqa: F401 (fixture)


def test_rule_rows_say_what_each_rule_does():
    row = rule_row({"id": "4", "name": "News", "enabled": True, "presetId": "3", "templateId": None,
                    "outputPattern": "{stem}-{preset}", "assetsMatched": 5, "jobsMade": 4}, {"3": "H.264 720p"})
    assert (row.id, row.name, row.enabled) == ("4", "News", True)
    assert row.action == "preset H.264 720p → {stem}-{preset}" and row.counts == "5 matched · 4 jobs"
    off = rule_row({"id": 5, "name": "Ladder", "enabled": False, "templateId": "2", "outputPattern": "{stem}",
                    "assetsMatched": 1, "jobsMade": 1})
    assert off.action == "template 2 → {stem}" and off.counts == "1 matched · 1 job" and not off.enabled


async def test_list_rules_asks_for_the_counts(fake_api):  # noqa: F811
    requests, replies = fake_api
    replies["next"] = httpx.Response(200, json={"data": {"rules": [{"id": "1", "name": "r"}]}})
    assert await api.list_rules() == [{"id": "1", "name": "r"}]
    query = json.loads(requests[0].content)["query"]
    assert "assetsMatched" in query and "jobsMade" in query
    assert requests[0].headers["cookie"] == "mpr_session=tab-session"
