"""Login card shown instead of the editor until the tab has a signed-in user.

The form is plain HTML posting to /api/auth/login (not a Reflex event): the server answers with
the HttpOnly session cookie and a redirect back to `/`, so no script ever sees the session.
"""
from __future__ import annotations

import reflex as rx

from ui.components.theme import ACCENT, BG, BORDER, FAINT, PANEL
from ui.state.base import AppState

_INPUT = ("width:100%;box-sizing:border-box;padding:9px 11px;margin:0 0 12px;border-radius:6px;"
          f"border:1px solid {BORDER};background:{BG};color:inherit;font:inherit;font-size:15px")
FORM = f"""<form method="post" action="/api/auth/login" style="margin:0">
<input id="login-username" name="username" placeholder="User name" autocomplete="username" required
 autofocus style="{_INPUT}">
<input id="login-password" name="password" type="password" placeholder="Password" autocomplete="current-password"
 required style="{_INPUT}">
<button id="login-submit" type="submit" style="width:100%;padding:10px;border:0;border-radius:6px;
background:{ACCENT};color:white;font:inherit;font-size:15px;cursor:pointer">Sign in</button>
</form>"""


def login_card() -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.hstack(
                rx.box(rx.icon("scissors", size=16, color="white"), background=ACCENT, border_radius="5px",
                       padding="5px", display="flex"),
                rx.heading("MPR", size="5"),
                spacing="2", align="center",
            ),
            rx.text("Sign in with your MPR account (or open the login link `mpr up` printed).", size="2",
                    color=FAINT),
            rx.cond(AppState.login_error != "",
                    rx.callout(AppState.login_error, color_scheme="red", size="1", width="100%",
                               id="login-error")),
            rx.html(FORM, width="100%"),
            spacing="3", width="320px", padding="28px", background=PANEL,
            border=f"1px solid {BORDER}", border_radius="10px",
        ),
        position="fixed", inset="0", display="grid", place_items="center", background=BG,
    )
