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
# text greys: at least 4.5:1 on every panel colour up to RAISED (WCAG AA for small text; the old
# FAINT #5d6573 had 2.6-3.3:1); MUTED stays a step lighter than FAINT
MUTED = "#a0a8b5"
FAINT = "#878f9d"
FOCUS = "#8fa8ff"  # the focus ring: visible on every panel and on the accent buttons
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
    # keyboard focus is always visible (the tag field and the time fields drew none)
    ":focus-visible": {"outline": f"2px solid {FOCUS}", "outline_offset": "2px"},
    "#asset-item:focus-visible": {"outline_offset": "-2px"},
    "#tag-box:focus-within": {"outline": f"2px solid {FOCUS}", "outline_offset": "1px"},
    "#tag-input:focus-visible": {"outline": "none"},  # its box draws the ring
    # five equal filters in the narrow right column (radix places its indicator by equal widths)
    "#queue-filter .rt-SegmentedControlItemLabel": {"padding_left": "2px", "padding_right": "2px",
                                                    "font_size": "11px"},
    "#play-toggle .icon-pause, #play-toggle[data-playing='true'] .icon-play": {"display": "none"},
    "#play-toggle[data-playing='true'] .icon-pause": {"display": "inline-block"},
}


DANGER_SOLID = "#c62a2f"  # a solid destructive button: white text at 5.6:1 (radix red-9 gives 3.9:1)


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
    """A panel's heading (an <h2>, so a screen reader can jump between panels) with controls on the right."""
    return rx.hstack(
        rx.heading(text, as_="h2", size="1", weight="bold", color=MUTED, letter_spacing="0.08em",
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


def field_label(text: str, html_for: str = "") -> rx.Component:
    """A field's caption; with `html_for` a real <label> of the control with that id (its accessible name)."""
    if html_for:
        return rx.el.label(text, html_for=html_for,
                           style={"font_size": "12px", "color": MUTED, "font_weight": "500", "line_height": "16px"})
    return rx.text(text, size="1", color=MUTED, weight="medium")


def mono(text, **props) -> rx.Component:
    return rx.text(text, font_family=MONO, **props)
