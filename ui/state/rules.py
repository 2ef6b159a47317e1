"""Rules list state: the automation rules and what each has done, loaded when the list opens.

Read-only here (creating and changing rules is an admin's, through GraphQL or /admin;
docs/automation.md)."""
from __future__ import annotations

import reflex as rx

from ui import api
from ui.models import RuleRow, rule_row
from ui.state.base import AppState


class RulesState(AppState):
    rules: list[RuleRow] = []
    rules_error: str = ""

    @rx.event
    async def open_changed(self, is_open: bool):
        if is_open:
            await self._fetch_rules()

    async def _fetch_rules(self) -> None:
        if not self.authenticated:
            return
        try:
            rows = await api.list_rules()
            presets = {str(p["id"]): p["name"] for p in await api.list_presets()}
            templates = {str(t["id"]): t["name"] for t in await api.list_templates()}
        except api.ApiError as exc:
            self.rules_error = exc.message
            return
        self.rules_error = ""
        self.rules = [rule_row(r, presets, templates) for r in rows]
