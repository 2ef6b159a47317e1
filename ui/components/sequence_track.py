"""The sequence track (under the timeline): the current sequence's clips laid end to end, each as
wide as its length, drawn over its source's filmstrip from its in point, with its source's name; the
sequence picker (open another saved sequence, New, Duplicate, Delete with confirmation), its name,
total length, the append button (E on the timeline), Play sequence (a preview across the cuts in the
player, with a playhead over the track) and Render (one job with the editor's preset, with what the
API says about stream copy). Each clip's edges are sliders: dragged, or focused and moved with ←/→,
they trim the clip (sequence_track.js). Viewers see the track without its edit controls (the API
refuses their edits anyway). State: ui/state/sequence.py; everything goes through GraphQL."""
from __future__ import annotations

import reflex as rx

from ui.components.theme import (ACCENT, BAD, BORDER, DANGER_SOLID, FAINT, MONO, MUTED, OK, PANEL_2, PLAYHEAD,
                                 RAISED, SELECTION, TEXT)
from ui.state.base import AppState
from ui.state.sequence import SequenceState

SCRIPT = rx.asset("sequence_track.js", shared=True)


def _edge(clip, index, edge: str) -> rx.Component:
    """A trim handle on one edge of a clip: a slider (sequence_track.js moves it)."""
    is_start = edge == "start"
    return rx.box(
        id=f"sequence-trim-{edge}-" + index.to_string(),
        class_name="sequence-edge",
        role="slider",
        tab_index=0,
        aria_label=("Start of clip " if is_start else "End of clip ") + (index + 1).to_string(),
        custom_attrs={
            "data-edge": edge, "data-index": index.to_string(),
            "aria-valuemin": "0" if is_start else clip.start.to_string(),
            "aria-valuemax": clip.end.to_string() if is_start else clip.duration.to_string(),
            "aria-valuenow": (clip.start if is_start else clip.end).to_string(),
            "aria-valuetext": clip.start_text if is_start else clip.end_text,
            "aria-orientation": "horizontal",
        },
        title="Drag to trim (frame-snapped); focus and ←/→ a frame, Shift ten",
        style={"position": "absolute", "top": "0", "bottom": "0", "left" if is_start else "right": "0",
               "width": "7px", "cursor": "ew-resize", "background": SELECTION, "opacity": "0.55", "z_index": "2",
               "touch_action": "none"},
        _hover={"opacity": "1"},
        _focus_visible={"opacity": "1", "outline": f"2px solid {TEXT}", "outline_offset": "-2px"},
    )


def _clip(clip, index) -> rx.Component:
    return rx.box(
        rx.text(clip.name, size="1", color=TEXT, overflow="hidden", text_overflow="ellipsis", white_space="nowrap"),
        rx.cond(AppState.can_edit, rx.fragment(
            rx.icon_button(
                rx.icon("x", size=12), size="1", variant="ghost", color_scheme="gray",
                on_click=SequenceState.remove_clip(index).stop_propagation, id="sequence-remove-" + index.to_string(),
                title="Remove this clip", aria_label="Remove this clip",
                style={"position": "absolute", "top": "2px", "right": "9px"}),
            _edge(clip, index, "start"),
            _edge(clip, index, "end"),
        )),
        id="sequence-clip-" + index.to_string(),
        class_name="sequence-clip",
        on_click=SequenceState.reopen(index),
        title=clip.label,
        custom_attrs={"data-start": clip.start.to_string(), "data-end": clip.end.to_string(),
                      "data-source": clip.source_id, "data-url": clip.url, "data-fps": clip.fps.to_string(),
                      "data-duration": clip.duration.to_string(),
                      "draggable": "true"},  # reorder: timeline.js; trim and preview: sequence_track.js
        style={"flex_grow": clip.grow, "flex_basis": "0", "min_width": "24px", "position": "relative",
               "height": "34px", "padding": "8px 22px 6px 10px", "background_color": RAISED,
               "background_image": clip.thumb, "background_size": clip.thumb_size,
               "background_position": clip.thumb_pos, "background_repeat": "no-repeat",
               "text_shadow": "0 0 3px #000, 0 0 2px #000", "border": f"1px solid {ACCENT}",
               "border_radius": "3px", "overflow": "hidden", "cursor": "pointer"},
    )


def _picker() -> rx.Component:
    """The saved sequences: a native select (keyboard and screen readers for free) and its actions."""
    return rx.hstack(
        rx.el.select(
            rx.cond(SequenceState.sequence_id == "", rx.el.option("Not saved yet", value="", disabled=True)),
            rx.foreach(SequenceState.sequences, lambda s: rx.el.option(s.name, value=s.id)),
            value=SequenceState.sequence_id,
            on_change=SequenceState.open_sequence,
            id="sequence-picker", aria_label="Open a saved sequence", title="Saved sequences",
            style={"background": "#0b0d11", "border": f"1px solid {BORDER}", "border_radius": "3px",
                   "color": TEXT, "font_size": "12px", "padding": "2px 4px", "min_width": "110px",
                   "max_width": "150px"},
        ),
        rx.cond(AppState.can_edit, rx.hstack(
            rx.icon_button(rx.icon("file-plus", size=12), on_click=SequenceState.new_sequence, id="sequence-new",
                           title="New sequence", aria_label="New sequence", size="1", variant="soft"),
            rx.icon_button(rx.icon("copy", size=12), on_click=SequenceState.duplicate, id="sequence-duplicate",
                           title="Duplicate this sequence", aria_label="Duplicate this sequence", size="1",
                           variant="soft", disabled=SequenceState.sequence_id == ""),
            _delete_dialog(),
            spacing="1", align="center")),
        spacing="1", align="center",
    )


def _delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.icon_button(rx.icon("trash-2", size=12), id="sequence-delete", title="Delete this sequence",
                           aria_label="Delete this sequence", size="1", variant="soft", color_scheme="red",
                           disabled=SequenceState.sequence_id == ""),
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete this sequence?"),
            rx.alert_dialog.description(
                rx.text("“", SequenceState.sequence_name, "” will be deleted. Jobs that rendered it keep their copy "
                        "of it; its sources are not touched.", size="2"),
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button("Delete", color_scheme="red", on_click=SequenceState.delete_current,
                              id="confirm-sequence-delete", background=DANGER_SOLID),
                ),
                spacing="3", justify="end", padding_top="12px",
            ),
            max_width="440px",
        ),
    )


def _copy_note() -> rx.Component:
    """Whether this sequence could be joined by stream copy, and, folded, every reason why not."""
    return rx.el.details(
        rx.el.summary(SequenceState.copy_text, style={"cursor": "pointer"}),
        rx.el.ul(rx.foreach(SequenceState.copy_reasons, lambda r: rx.el.li(r)),
                 style={"margin": "2px 0 0 18px", "list_style": "disc"}),
        id="sequence-copy",
        style={"font_size": "12px", "margin_top": "4px",
               "color": rx.cond(SequenceState.copy_possible, OK, FAINT)},
    )


def _render_control(button: dict) -> rx.Component:
    """Renders with the job form's Outputs: the chosen template's outputs, else its preset's one file."""
    return rx.button(
        rx.cond(SequenceState.template_id != "", "Render sequence: " + SequenceState.selected_template.name,
                "Render sequence"),
        on_click=SequenceState.render, id="render-sequence",
        disabled=SequenceState.clips.length() == 0, title=SequenceState.copy_text,
        custom_attrs={"aria-describedby": "sequence-copy"}, **button)


def sequence_track() -> rx.Component:
    button = {"size": "1", "variant": "soft"}
    return rx.box(
        rx.script(src=SCRIPT),
        rx.hstack(
            _picker(),
            rx.el.input(
                default_value=SequenceState.sequence_name, key=SequenceState.sequence_id,
                on_blur=SequenceState.rename, id="sequence-name", aria_label="Sequence name",
                style={"background": "transparent", "border": f"1px solid {BORDER}", "border_radius": "3px",
                       "color": TEXT, "font_size": "12px", "padding": "2px 6px", "width": "130px"},
            ),
            rx.text(SequenceState.clip_count_text, size="1", color=MUTED, id="sequence-count", white_space="nowrap"),
            rx.text(SequenceState.total_text, size="1", color=MUTED, id="sequence-duration",
                    style={"font_family": MONO, "white_space": "nowrap"}),
            rx.text(SequenceState.frames_text, size="1", color=MUTED, id="sequence-frames",
                    style={"font_family": MONO, "white_space": "nowrap"}),
            width="100%", align="center", spacing="2", style={"flex_wrap": "wrap", "row_gap": "6px"},
        ),
        rx.hstack(
            rx.icon_button(rx.icon("play", size=12), id="play-sequence", title="Play the sequence across its cuts "
                           "(Space, J/K/L, ←/→ while previewing; Esc stops)", aria_label="Play sequence",
                           disabled=SequenceState.clips.length() == 0, **button),
            rx.icon_button(rx.icon("square", size=12), id="stop-sequence", title="Stop the preview (Esc)",
                           aria_label="Stop sequence preview", disabled=SequenceState.clips.length() == 0, **button),
            rx.text("", size="1", color=TEXT, id="sequence-time",
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
            _render_control(button),
            spacing="2", align="center")),
            width="100%", align="center", spacing="2", margin_top="6px",
            style={"flex_wrap": "wrap", "row_gap": "6px"},
        ),
        rx.box(
            rx.hstack(
                rx.foreach(SequenceState.clips, _clip),
                id="sequence-clips", spacing="1", width="100%", min_height="34px",
                style={"display": "flex"},
            ),
            rx.box(id="sequence-playhead", aria_hidden="true",
                   style={"position": "absolute", "top": "-4px", "bottom": "-4px", "width": "3px", "left": "0",
                          "background": PLAYHEAD, "box_shadow": "0 0 0 1px #000", "border_radius": "1px", "display": "none", "pointer_events": "none", "z_index": "4"}),
            rx.box(id="sequence-trim-label", aria_hidden="true",
                   style={"position": "absolute", "top": "-22px", "display": "none", "padding": "1px 6px",
                          "background": "#000", "border": f"1px solid {SELECTION}", "border_radius": "3px",
                          "font_family": MONO, "font_size": "11px", "color": SELECTION, "white_space": "nowrap",
                          "pointer_events": "none", "z_index": "5"}),
            position="relative", margin_top="6px",
        ),
        rx.cond(SequenceState.clips.length() > 0, _copy_note()),
        rx.el.input(id="sequence-bridge", on_change=SequenceState.js_edit, type="text", tab_index=-1,
                    aria_hidden="true", style={"display": "none"}),
        rx.cond(SequenceState.sequence_error != "",
                rx.text(SequenceState.sequence_error, size="1", color=BAD, id="sequence-error")),
        id="sequence-track",
        padding="8px 14px", background=PANEL_2, border_radius="6px", border=f"1px solid {BORDER}",
        color=FAINT,
    )
