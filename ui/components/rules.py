"""The Rules list: a popover from the top bar listing the automation rules (name, on/off, action,
how many assets each matched and jobs it made). Ids: `rules-button`, `rule-list`, `rule-row-<id>`."""
from __future__ import annotations

import reflex as rx

from ui.components.theme import BORDER, FAINT, MUTED, PANEL, TEXT
from ui.models import RuleRow
from ui.state.rules import RulesState


def _row(rule: RuleRow) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.text(rule.name, size="1", weight="medium", color=TEXT),
            rx.spacer(),
            rx.badge(rx.cond(rule.enabled, "on", "off"), size="1",
                     color_scheme=rx.cond(rule.enabled, "grass", "gray")),
            align="center", width="100%",
        ),
        rx.text(rule.action, size="1", color=MUTED),
        rx.text(rule.counts, size="1", color=FAINT),
        id="rule-row-" + rule.id, padding="6px 0", border_bottom=f"1px solid {BORDER}",
    )


def rules_menu() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(rx.button("Rules", size="1", variant="ghost", color_scheme="gray", id="rules-button")),
        rx.popover.content(
            rx.text("Automation rules", size="2", weight="bold", color=TEXT),
            rx.cond(RulesState.rules_error != "", rx.text(RulesState.rules_error, size="1", color="red")),
            rx.cond(
                RulesState.rules.length() > 0,
                rx.box(rx.foreach(RulesState.rules, _row), id="rule-list", max_height="360px", overflow_y="auto"),
                rx.text("No rules yet. An admin creates them with createRule (GraphQL) or in /admin.",
                        size="1", color=MUTED, id="rule-list"),
            ),
            width="320px", background=PANEL,
        ),
        on_open_change=RulesState.open_changed,
    )
