"""Trim mode for the copy presets (`trim-mode`): a plain keyframe copy or a smart cut, and what it
will do ("Re-encodes 0.47 s at the start and 0.20 s at the end, copies 58.3 s."), as the server
computes it from the source's keyframes (the trimPlan query; see docs/smartcut.md)."""
from __future__ import annotations

import reflex as rx

from ui.components.theme import MUTED, field_label
from ui.state.editor import EditorState


def trim_mode_control() -> rx.Component:
    return rx.cond(
        EditorState.selected_preset.keyframe_copy,
        rx.vstack(
            field_label("Trim mode"),
            rx.segmented_control.root(
                rx.segmented_control.item("Keyframe copy", value="keyframe", id="trim-mode-keyframe"),
                rx.segmented_control.item("Smart cut", value="smart", id="trim-mode-smart"),
                value=EditorState.trim_mode,
                on_change=EditorState.set_trim_mode,
                size="1", width="100%", id="trim-mode",
            ),
            # refreshed by the editor after every change of the points, the preset or the mode
            rx.text(EditorState.trim_plan_text, size="1", color=MUTED, id="trim-plan",
                    on_mount=EditorState.refresh_trim_plan),
            spacing="1", width="100%",
        ),
    )
