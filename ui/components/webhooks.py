"""Webhooks dialog (admins, from the header): the endpoints, the chosen one's delivery log
(status, attempts, HTTP code, latency, error) and a Redeliver button per delivery."""
from __future__ import annotations

import reflex as rx

from ui.components.theme import BAD, BORDER, FAINT, MUTED, PANEL_2, TEXT
from ui.models import DeliveryRow, WebhookRow
from ui.state.webhooks import WebhooksState

DELIVERY_COLORS = (("delivered", "green"), ("failed", "red"))


def _hook_row(hook: WebhookRow) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.text("#", hook.id, size="1", color=FAINT, font_family="monospace"),
            rx.text(hook.url, size="2", color=TEXT, overflow="hidden", text_overflow="ellipsis",
                    white_space="nowrap", flex="1", min_width="0", title=hook.url),
            rx.cond(hook.active, rx.fragment(), rx.badge("inactive", color_scheme="gray", size="1")),
            spacing="2", align="center", width="100%",
        ),
        rx.text(hook.events_text, size="1", color=MUTED),
        id="webhook-row-" + hook.id,
        class_name="webhook-row",
        on_click=WebhooksState.select(hook.id),
        cursor="pointer", padding="6px 8px", border_radius="6px", width="100%",
        background=rx.cond(WebhooksState.selected_id == hook.id, PANEL_2, "transparent"),
        border=f"1px solid {BORDER}",
    )


def _delivery_row(d: DeliveryRow) -> rx.Component:
    return rx.hstack(
        rx.badge(d.status, color_scheme=rx.match(d.status, *DELIVERY_COLORS, "gray"), variant="soft", size="1",
                 class_name="webhook-delivery-status", flex_shrink="0", min_width="72px", justify_content="center"),
        rx.vstack(
            rx.text(d.event_type, size="2", color=TEXT),
            rx.text(d.summary, size="1", color=MUTED),
            rx.text(d.when_text, size="1", color=FAINT),
            rx.cond(d.error != "", rx.text(d.error, size="1", color=BAD)),
            spacing="0", flex="1", min_width="0",
        ),
        rx.button("Redeliver", size="1", variant="ghost", class_name="webhook-redeliver",
                  loading=WebhooksState.busy_id == d.id, on_click=WebhooksState.redeliver(d.id)),
        id="webhook-delivery-" + d.id,
        class_name="webhook-delivery",
        align="center", width="100%", padding="4px 2px", border_bottom=f"1px solid {BORDER}",
    )


def webhooks_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button("Webhooks", size="1", variant="ghost", color_scheme="gray", id="webhooks-open")),
        rx.dialog.content(
            rx.dialog.title("Webhooks"),
            rx.dialog.description("Endpoints are added with the createWebhook mutation (see docs/webhooks.md).",
                                  size="1", color=MUTED),
            rx.cond(WebhooksState.webhooks_error != "", rx.text(WebhooksState.webhooks_error, size="1", color=BAD)),
            rx.vstack(rx.foreach(WebhooksState.hooks, _hook_row), id="webhook-list", spacing="1", width="100%",
                      padding_y="8px"),
            rx.text("Deliveries, newest first", size="1", weight="bold", color=MUTED),
            rx.box(rx.foreach(WebhooksState.deliveries, _delivery_row), id="webhook-deliveries", width="100%",
                   max_height="50vh", overflow_y="auto"),
            rx.hstack(
                rx.button("Refresh", size="1", variant="soft", on_click=WebhooksState.refresh, id="webhooks-refresh"),
                rx.dialog.close(rx.button("Close", size="1", variant="soft", color_scheme="gray")),
                justify="end", width="100%", padding_top="8px",
            ),
            max_width="760px",
        ),
        open=WebhooksState.dialog_open,
        on_open_change=WebhooksState.set_dialog_open,
    )
