"""The library's Scan button and what a running scan shows under it: "n of N probed" with a named
progress bar while it runs (ui/state/scan.py polls the server's scan), then each file the scan
could not use, with its reason, until dismissed."""
from __future__ import annotations

import reflex as rx

from ui.components.theme import MUTED
from ui.state.scan import ScanState


def scan_button() -> rx.Component:
    return rx.button(
        rx.icon("folder-search", size=14), "Scan",
        size="1", variant="soft", color_scheme="gray", id="scan-folder",
        loading=ScanState.scanning, on_click=ScanState.scan,
        title="Register new and changed files of the media folder",
    )


def scan_status() -> rx.Component:
    return rx.fragment(
        rx.cond(
            ScanState.scanning,
            rx.vstack(
                rx.text("Scanning: ", ScanState.scan_text, size="1", color=MUTED, id="scan-progress-text",
                        role="status"),
                rx.progress(value=ScanState.scan_pct, max=100, size="1", id="scan-progress",
                            aria_label="Scan progress"),
                width="100%", spacing="1",
            ),
        ),
        rx.cond(
            ScanState.scan_errors.length() > 0,
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle-alert", size=14)),
                rx.vstack(
                    rx.hstack(
                        rx.callout.text(ScanState.scan_error_count, " file(s) not usable", weight="bold"),
                        rx.spacer(),
                        rx.icon_button(rx.icon("x", size=12), size="1", variant="ghost", color_scheme="gray",
                                       on_click=ScanState.dismiss_scan_errors, id="scan-errors-close",
                                       aria_label="Dismiss the scan's errors"),
                        width="100%", align="center",
                    ),
                    rx.el.ul(
                        rx.foreach(ScanState.scan_errors,
                                   lambda line: rx.el.li(rx.text(line, size="1"), style={"word_break": "break-all"})),
                        style={"margin": "0", "padding_left": "14px", "max_height": "120px", "overflow_y": "auto"},
                    ),
                    spacing="1", width="100%",
                ),
                color_scheme="amber", size="1", id="scan-errors", width="100%",
            ),
        ),
    )
