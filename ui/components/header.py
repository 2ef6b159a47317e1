"""Top bar: product name, live system status line, the signed-in user, their role, the webhooks
dialog (admins) and "Sign out"."""
from __future__ import annotations

import reflex as rx

from ui.components.theme import ACCENT, BORDER, FAINT, MUTED, PANEL, TEXT
from ui.components.webhooks import webhooks_dialog
from ui.state.base import AppState
from ui.state.queue import QueueState


def header() -> rx.Component:
    return rx.hstack(
        rx.hstack(
            rx.box(rx.icon("scissors", size=15, color="white"), background=ACCENT, border_radius="5px",
                   padding="4px", display="flex"),
            rx.text("MPR", weight="bold", size="3", color=TEXT, letter_spacing="0.04em"),
            rx.text("media processor", size="1", color=FAINT),
            spacing="2", align="center",
        ),
        rx.spacer(),
        rx.hstack(
            rx.cond(QueueState.active_count > 0,
                    rx.box(width="7px", height="7px", border_radius="50%", background="#3fcf8e",
                           box_shadow="0 0 6px #3fcf8e")),
            rx.text(QueueState.status_text, size="1", color=MUTED, id="system-status"),
            spacing="2", align="center",
        ),
        rx.cond(
            AppState.authenticated,
            rx.hstack(
                rx.text(AppState.username, size="1", color=MUTED, id="signed-in-user"),
                rx.text(AppState.role, size="1", color=MUTED),
                rx.cond(AppState.role == "admin", webhooks_dialog()),
                rx.button("Sign out", size="1", variant="ghost", color_scheme="gray", on_click=AppState.logout),
                spacing="2", align="center", padding_left="12px",
            ),
        ),
        rx.cond(AppState.is_admin,  # /admin lets in admins only: nobody else gets the link
                rx.link("Admin", href="/admin/", size="1", color=MUTED, padding_left="12px", is_external=True,
                        id="admin-link")),
        height="44px", padding_x="14px", align="center", width="100%",
        background=PANEL, border_bottom=f"1px solid {BORDER}", flex_shrink="0",
    )
