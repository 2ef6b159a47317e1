"""Login card shown instead of the editor when the server is bound beyond loopback."""
from __future__ import annotations

import reflex as rx

from ui.components.theme import ACCENT, BG, BORDER, FAINT, PANEL
from ui.state.base import AppState


def login_card() -> rx.Component:
    return rx.box(
        rx.form(
            rx.vstack(
                rx.hstack(
                    rx.box(rx.icon("scissors", size=16, color="white"), background=ACCENT, border_radius="5px",
                           padding="5px", display="flex"),
                    rx.heading("MPR", size="5"),
                    spacing="2", align="center",
                ),
                rx.text("Sign in with your MPR admin account.", size="2", color=FAINT),
                rx.input(name="username", placeholder="User name", id="login-username", size="3",
                         width="100%", auto_complete="username"),
                rx.input(name="password", placeholder="Password", type="password", id="login-password",
                         size="3", width="100%", auto_complete="current-password"),
                rx.cond(AppState.login_error != "",
                        rx.callout(AppState.login_error, color_scheme="red", size="1", width="100%",
                                   id="login-error")),
                rx.button("Sign in", type="submit", size="3", width="100%", loading=AppState.logging_in,
                          id="login-submit"),
                spacing="3", width="320px", padding="28px", background=PANEL,
                border=f"1px solid {BORDER}", border_radius="10px",
            ),
            on_submit=AppState.login,
            reset_on_submit=False,
        ),
        position="fixed", inset="0", display="grid", place_items="center", background=BG,
    )
