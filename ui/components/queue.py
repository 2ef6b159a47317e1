"""Queue (right, below the job panel): one page of jobs with live progress, cancel/retry/play/download."""
from __future__ import annotations

import reflex as rx

from ui.components.theme import ACCENT, BAD, BORDER, FAINT, MUTED, OK, PANEL_2, TEXT, panel, panel_title, status_badge
from ui.models import JobRow
from ui.state.base import AppState
from ui.state.queue import QueueState
from ui.statuses import CANCELLED, FAILED, SUCCEEDED


def _bar(job: JobRow) -> rx.Component:
    color = rx.match(job.status, (SUCCEEDED, OK), (FAILED, BAD), (CANCELLED, "#d9822b"), ACCENT)
    return rx.box(
        rx.box(
            height="100%", width=job.progress.to_string() + "%", background=color,
            border_radius="3px", transition="width 0.6s linear",
        ),
        id="job-progress",
        role="progressbar",
        custom_attrs={"aria-valuenow": job.progress.to_string(), "aria-valuemin": "0",
                      "aria-valuemax": "100", "data-progress": job.progress.to_string()},
        height="5px", width="100%", background="#0b0d11", border_radius="3px", overflow="hidden",
    )


def _actions(job: JobRow) -> rx.Component:
    small = dict(size="1", variant="ghost")
    return rx.hstack(
        rx.cond(job.can_cancel & AppState.can_edit,
                rx.button("Cancel", color_scheme="red", class_name="job-cancel",
                          loading=QueueState.busy_id == job.id, on_click=QueueState.cancel(job.id), **small)),
        rx.cond(job.can_retry & AppState.can_edit,
                rx.button(rx.icon("rotate-cw", size=12), "Retry", class_name="job-retry",
                          loading=QueueState.busy_id == job.id, on_click=QueueState.retry(job.id), **small)),
        rx.cond(job.output_asset_id != "",
                rx.button(rx.icon("play", size=12), "Play", class_name="job-play",
                          on_click=QueueState.play_output(job.output_asset_id), **small)),
        rx.cond(job.playback_url != "",
                rx.button(rx.icon("radio", size=12), "Stream", class_name="job-stream",
                          on_click=QueueState.play_stream(job.playback_url, job.storyboard_url, job.output_name),
                          **small)),
        rx.cond(job.output_url != "",
                rx.link(rx.icon("download", size=13), href=job.output_url, class_name="job-download",
                        custom_attrs={"download": job.output_name}, title="Download the output",
                        color=MUTED, padding_x="4px")),
        spacing="1", align="center",
    )


def job_row(job: JobRow) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.text("#", job.id, size="1", color=FAINT, font_family="monospace"),
            rx.text(rx.cond(job.output_name != "", job.output_name, job.source_name), size="2",
                    weight="medium", color=TEXT, overflow="hidden", text_overflow="ellipsis",
                    white_space="nowrap", flex="1", min_width="0", title=job.output_name),
            status_badge(job.status, id="job-status"),
            spacing="2", align="center", width="100%",
        ),
        rx.hstack(
            rx.text(job.preset_name, size="1", color=MUTED, white_space="nowrap"),
            rx.cond(job.trim_text != "", rx.text(job.trim_text, size="1", color=FAINT, white_space="nowrap",
                                                 font_family="monospace", style={"font_size": "10px"})),
            spacing="2", width="100%", overflow="hidden", padding_y="3px",
        ),
        _bar(job),
        rx.hstack(
            rx.text(job.progress_text, size="1", color=TEXT, class_name="job-percent", min_width="34px"),
            rx.text(job.detail, size="1", color=MUTED, class_name="job-detail", white_space="nowrap",
                    overflow="hidden", text_overflow="ellipsis"),
            rx.text(job.attempt_text, size="1", color=FAINT),
            rx.spacer(),
            _actions(job),
            width="100%", align="center", spacing="2", min_height="26px",
        ),
        rx.cond(job.error != "", rx.text(job.error, size="1", color=BAD, class_name="job-error",
                                         style={"word_break": "break-word"})),
        id="job-row",
        custom_attrs={"data-job-id": job.id, "data-status": job.status},
        padding="8px 10px",
        border_bottom=f"1px solid {BORDER}",
        _hover={"background": PANEL_2},
    )


def queue_panel() -> rx.Component:
    return panel(
        panel_title(
            "Queue",
            rx.text(QueueState.page_text, size="1", color=FAINT, id="queue-count"),
        ),
        rx.hstack(
            rx.segmented_control.root(
                rx.segmented_control.item("All", value="all"),
                rx.segmented_control.item("Active", value="active"),
                rx.segmented_control.item("Done", value="done"),
                rx.segmented_control.item("Failed", value="failed"),
                value=QueueState.filter,
                on_change=QueueState.set_filter,
                size="1",
                id="queue-filter",
            ),
            rx.spacer(),
            rx.icon_button(rx.icon("chevron-left", size=14), size="1", variant="soft", color_scheme="gray",
                           disabled=~QueueState.has_prev, on_click=QueueState.prev_page, id="queue-prev",
                           title="Newer jobs"),
            rx.icon_button(rx.icon("chevron-right", size=14), size="1", variant="soft", color_scheme="gray",
                           disabled=~QueueState.has_next, on_click=QueueState.next_page, id="queue-next",
                           title="Older jobs"),
            padding="8px 10px", border_bottom=f"1px solid {BORDER}", width="100%", align="center",
            spacing="1",
        ),
        rx.cond(QueueState.error != "", rx.text(QueueState.error, size="1", color=BAD, padding="6px 10px")),
        rx.box(
            rx.foreach(QueueState.jobs, job_row),
            rx.cond(
                QueueState.total == 0,
                rx.vstack(
                    rx.icon("list-video", size=26, color=FAINT),
                    rx.text("No jobs here yet.", size="2", color=MUTED),
                    rx.text("Pick a clip, set in/out, choose a preset, Submit.", size="1", color=FAINT),
                    align="center", padding="32px 12px", spacing="2",
                ),
            ),
            id="job-list",
            flex="1", overflow_y="auto", min_height="0",
        ),
        style={"flex": "1", "min_height": "0"},
    )
