"""Look and feel: the dark editor palette, panel chrome and shared small pieces (badges, labels)."""
from __future__ import annotations

import reflex as rx

from ui.statuses import CANCELLED, ERROR, FAILED, MISSING, PENDING, QUEUED, READY, RUNNING, SUCCEEDED

BG = "#0d0f13"
PANEL = "#14171d"
PANEL_2 = "#1a1e25"
RAISED = "#20252e"
BORDER = "#262b35"
TEXT = "#d9dde4"
MUTED = "#8b93a1"
FAINT = "#5d6573"
ACCENT = "#6c8cff"
SELECTION = "#f5b342"
PLAYHEAD = "#ff5a5f"
OK = "#3fcf8e"
WARN = "#f5b342"
BAD = "#ff6b6b"
MONO = "'JetBrains Mono', 'DejaVu Sans Mono', ui-monospace, monospace"

STATUS_COLORS = {  # radix color scale per status
    READY: "grass", PENDING: "amber", ERROR: "red", MISSING: "gray",
    QUEUED: "gray", RUNNING: "blue", SUCCEEDED: "grass", FAILED: "red", CANCELLED: "orange",
}

GLOBAL_STYLE = {
    "html, body": {"background": BG, "color": TEXT, "overflow": "hidden"},
    "::-webkit-scrollbar": {"width": "8px", "height": "8px"},
    "::-webkit-scrollbar-thumb": {"background": "#2c323d", "border_radius": "4px"},
    "::-webkit-scrollbar-track": {"background": "transparent"},
}


def status_badge(status, **props) -> rx.Component:
    return rx.badge(
        status,
        color_scheme=rx.match(status, *[(k, v) for k, v in STATUS_COLORS.items()], "gray"),
        variant="soft",
        radius="full",
        size="1",
        **props,
    )


def panel_title(text: str, *right: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.text(text, size="1", weight="bold", color=MUTED, letter_spacing="0.08em",
                text_transform="uppercase"),
        rx.spacer(),
        *right,
        align="center",
        width="100%",
        padding_x="12px",
        min_height="36px",
        border_bottom=f"1px solid {BORDER}",
        flex_shrink="0",
    )


def panel(*children, **props) -> rx.Component:
    style = {"background": PANEL, "border": f"1px solid {BORDER}", "border_radius": "8px",
             "display": "flex", "flex_direction": "column", "min_height": "0", "overflow": "hidden"}
    style.update(props.pop("style", {}))
    return rx.box(*children, style=style, **props)


def field_label(text: str) -> rx.Component:
    return rx.text(text, size="1", color=MUTED, weight="medium")


def mono(text, **props) -> rx.Component:
    return rx.text(text, font_family=MONO, **props)
