"""The sequence track (under the timeline): the current sequence's clips laid end to end, each as
wide as its length, drawn over its source's filmstrip from its in point, with its source's name; the sequence's name, total length, the
append button (E on the timeline) and Render (one job with the editor's preset); viewers see the
track without its edit controls (the API refuses their edits anyway). State:
ui/state/sequence.py; everything goes through GraphQL."""
from __future__ import annotations

import reflex as rx

from ui.components.theme import ACCENT, BAD, BORDER, FAINT, MONO, MUTED, PANEL_2, RAISED, TEXT
from ui.state.base import AppState
from ui.state.sequence import SequenceState


def _clip(clip, index) -> rx.Component:
    return rx.box(
        rx.text(clip.name, size="1", color=TEXT, overflow="hidden", text_overflow="ellipsis", white_space="nowrap"),
        rx.cond(AppState.can_edit, rx.icon_button(
            rx.icon("x", size=12), size="1", variant="ghost", color_scheme="gray",
            on_click=SequenceState.remove_clip(index).stop_propagation, id="sequence-remove-" + index.to_string(),
            title="Remove this clip", aria_label="Remove this clip",
            style={"position": "absolute", "top": "2px", "right": "2px"})),
        id="sequence-clip-" + index.to_string(),
        class_name="sequence-clip",
        on_click=SequenceState.reopen(index),
        title=clip.label,
        custom_attrs={"data-start": clip.start.to_string(), "data-end": clip.end.to_string(),
                      "data-source": clip.source_id, "draggable": "true"},  # reorder: timeline.js
        style={"flex_grow": clip.grow, "flex_basis": "0", "min_width": "24px", "position": "relative",
               "height": "34px", "padding": "8px 22px 6px 6px", "background_color": RAISED,
               "background_image": clip.thumb, "background_size": clip.thumb_size,
               "background_position": clip.thumb_pos, "background_repeat": "no-repeat",
               "text_shadow": "0 0 3px #000, 0 0 2px #000", "border": f"1px solid {ACCENT}",
               "border_radius": "3px", "overflow": "hidden", "cursor": "pointer"},
    )


def sequence_track() -> rx.Component:
    button = {"size": "1", "variant": "soft"}
    return rx.box(
        rx.hstack(
            rx.el.input(
                default_value=SequenceState.sequence_name, key=SequenceState.sequence_id,
                on_blur=SequenceState.rename, id="sequence-name", aria_label="Sequence name",
                style={"background": "transparent", "border": f"1px solid {BORDER}", "border_radius": "3px",
                       "color": TEXT, "font_size": "12px", "padding": "2px 6px", "width": "140px"},
            ),
            rx.text(SequenceState.clip_count_text, size="1", color=MUTED, id="sequence-count", white_space="nowrap"),
            rx.text(SequenceState.total_text, size="1", color=MUTED, id="sequence-duration",
                    style={"font_family": MONO, "white_space": "nowrap"}),
            rx.text(SequenceState.frames_text, size="1", color=MUTED, id="sequence-frames",
                    style={"font_family": MONO, "white_space": "nowrap"}),
            rx.spacer(),
            rx.cond(AppState.can_edit, rx.hstack(
            rx.icon_button(rx.icon("undo-2", size=12), on_click=SequenceState.undo, id="sequence-undo",
                           title="Undo (Ctrl+Z)", aria_label="Undo", disabled=SequenceState.undo_stack.length() == 0,
                           **button),
            rx.icon_button(rx.icon("redo-2", size=12), on_click=SequenceState.redo, id="sequence-redo",
                           title="Redo (Ctrl+Shift+Z)", aria_label="Redo",
                           disabled=SequenceState.redo_stack.length() == 0, **button),
            rx.button(rx.icon("plus", size=12), "Append (E)", on_click=SequenceState.append_selection,
                      id="append-to-sequence", disabled=~SequenceState.has_asset, **button),
            rx.button("Render sequence", on_click=SequenceState.render, id="render-sequence",
                      disabled=SequenceState.clips.length() == 0, **button),
            spacing="2", align="center")),
            width="100%", align="center", spacing="2",
        ),
        rx.hstack(
            rx.foreach(SequenceState.clips, _clip),
            id="sequence-clips", spacing="1", width="100%", min_height="34px", margin_top="6px",
            style={"display": "flex"},
        ),
        rx.el.input(id="sequence-bridge", on_change=SequenceState.move_clip, type="text", tab_index=-1,
                    aria_hidden="true", style={"display": "none"}),
        rx.cond(SequenceState.sequence_error != "",
                rx.text(SequenceState.sequence_error, size="1", color=BAD, id="sequence-error")),
        id="sequence-track",
        padding="8px 14px", background=PANEL_2, border_radius="6px", border=f"1px solid {BORDER}",
        color=FAINT,
    )
