"""The page: header over three columns — library | player, timeline, details | job panel, queue."""
from __future__ import annotations

import reflex as rx

from ui.components.details import details_panel
from ui.components.header import header
from ui.components.job_panel import job_panel
from ui.components.library import SCROLL_SCRIPT, library_panel
from ui.components.login import login_card
from ui.components.queue import queue_panel
from ui.components.theme import BG
from ui.components.timeline import SCRIPT, editor_panel
from ui.state.base import AppState


def workspace() -> rx.Component:
    return rx.box(
        header(),
        rx.el.main(
            library_panel(),
            # the centre column scrolls as one: the player, transport and timeline fill its first
            # screen (ui/components/timeline.py PLAYER_HEIGHT), the sequence track, the hints and the
            # details follow
            rx.box(editor_panel(), details_panel(), id="center-column",
                   display="flex", flex_direction="column", gap="8px", min_height="0", min_width="0",
                   overflow_y="auto"),
            rx.box(job_panel(), queue_panel(),
                   display="flex", flex_direction="column", gap="8px", min_height="0", min_width="0"),
            display="grid",
            grid_template_columns=rx.breakpoints(initial="290px minmax(0, 1fr) 340px",
                                                 xl="340px minmax(0, 1fr) 400px"),
            gap="8px", padding="8px", flex="1", min_height="0",
            aria_label="Editor",
        ),
        display="flex", flex_direction="column", height="100vh", width="100vw", background=BG,
        overflow="hidden",
    )


def index() -> rx.Component:
    return rx.fragment(
        rx.script(src=SCRIPT),
        rx.script(src=SCROLL_SCRIPT),
        rx.cond(
            AppState.authenticated,
            workspace(),
            rx.cond(AppState.checked, login_card(), rx.center(rx.spinner(size="3"), height="100vh")),
        ),
    )
