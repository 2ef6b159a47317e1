"""Job panel (right, top): output template picker (one file, or a template's several outputs),
preset picker grouped by kind with its summary, output name, Submit.

Submit stays disabled while `EditorState.form_message` says why (in ≥ out, out past the end, no
preset…); a refusal from the API is shown in the same place.
"""
from __future__ import annotations

import reflex as rx

from ui.components.theme import BORDER, FAINT, MONO, MUTED, SELECTION, TEXT, field_label, panel, panel_title
from ui.models import PresetRow, TemplateRow
from ui.components.trim_mode import trim_mode_control
from ui.state.base import AppState
from ui.state.editor import NO_TEMPLATE, EditorState


def _preset_item(preset: PresetRow) -> rx.Component:
    return rx.select.item(preset.name, value=preset.id, class_name="preset-option")


def _preset_select() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder="Choose a preset", id="preset-select", width="100%"),
        rx.select.content(
            rx.foreach(
                EditorState.preset_groups,
                lambda group, i: rx.select.group(
                    rx.select.label(EditorState.preset_group_labels[i]),
                    rx.foreach(group, _preset_item),
                ),
            ),
            position="popper",
        ),
        value=EditorState.preset_id,
        on_change=EditorState.set_preset,
        size="2",
    )


def _template_item(template: TemplateRow) -> rx.Component:
    return rx.select.item(template.name, value=template.id, class_name="template-option")


def _template_select() -> rx.Component:
    return rx.vstack(
        rx.select.root(
            rx.select.trigger(id="template-select", width="100%"),
            rx.select.content(
                rx.select.item("One file (the preset below)", value=NO_TEMPLATE, class_name="template-option"),
                rx.foreach(EditorState.templates, _template_item),
                position="popper",
            ),
            value=rx.cond(EditorState.template_id != "", EditorState.template_id, NO_TEMPLATE),
            on_change=EditorState.set_template,
            size="2",
        ),
        rx.cond(EditorState.template_id != "",
                rx.text(EditorState.selected_template.summary, size="1", color=MUTED, id="template-summary")),
        spacing="1", width="100%",
    )


def _summary() -> rx.Component:
    preset = EditorState.selected_preset
    return rx.cond(
        preset.id != "",
        rx.box(
            rx.text(preset.summary, size="1", color=TEXT, id="preset-summary"),
            rx.hstack(
                rx.cond(
                    preset.keyframe_copy,
                    rx.badge(rx.icon("scissors", size=11), "keyframe copy · cut snaps to previous keyframe",
                             color_scheme="amber", variant="soft", size="1"),
                    rx.badge(rx.icon("crosshair", size=11), "frame-accurate · re-encoded",
                             color_scheme="grass", variant="soft", size="1"),
                ),
                rx.cond(~preset.builtin, rx.badge("custom", variant="outline", size="1")),
                spacing="1", padding_top="6px", wrap="wrap",
            ),
            padding="8px 10px", border_radius="6px", background="#0f1218", border=f"1px solid {BORDER}",
        ),
    )


def job_panel() -> rx.Component:
    return panel(
        panel_title("New job"),
        rx.vstack(
            rx.vstack(field_label("Source"),
                      rx.text(rx.cond(EditorState.has_asset, EditorState.asset.name, "—"), size="2",
                              color=TEXT, overflow="hidden", text_overflow="ellipsis", white_space="nowrap",
                              width="100%", id="job-source"),
                      rx.hstack(
                          rx.text(EditorState.in_text, " → ", EditorState.out_text, size="1", color=MUTED,
                                  font_family=MONO),
                          rx.text("(", EditorState.selection_text, ")", size="1", color=SELECTION,
                                  font_family=MONO),
                          spacing="1",
                      ),
                      spacing="1", width="100%"),
            rx.vstack(field_label("Outputs"), _template_select(), spacing="1", width="100%"),
            rx.cond(EditorState.template_id == "",
                    rx.vstack(field_label("Preset"), _preset_select(), _summary(), trim_mode_control(),
                              spacing="1", width="100%")),
            rx.vstack(
                field_label("Output name"),
                rx.input(
                    rx.input.slot(rx.text(EditorState.output_extension, size="1", color=FAINT), side="right"),
                    value=EditorState.output_name,
                    on_change=EditorState.set_output_name,
                    id="output-name", size="2", width="100%", spell_check=False,
                ),
                spacing="1", width="100%",
            ),
            rx.cond(
                (EditorState.form_message != "") & EditorState.has_asset,
                rx.callout.root(
                    rx.callout.icon(rx.icon("info", size=14)),
                    rx.callout.text(EditorState.form_message),
                    color_scheme="amber", size="1", width="100%", id="job-form-message",
                ),
            ),
            rx.cond(
                EditorState.submit_error != "",
                rx.callout.root(
                    rx.callout.icon(rx.icon("triangle-alert", size=14)),
                    rx.callout.text(EditorState.submit_error),
                    color_scheme="red", size="1", width="100%", id="job-submit-error",
                ),
            ),
            rx.cond(
                AppState.can_edit,  # a viewer submits no job (the API refuses it anyway)
                rx.button(
                    rx.icon("play", size=14), "Submit job",
                    id="submit-job", width="100%", size="2",
                    disabled=EditorState.form_message != "",
                    loading=EditorState.submitting,
                    on_click=EditorState.submit,
                ),
                rx.text("Viewers can look and play; submitting jobs needs the editor role.",
                        size="1", color=MUTED, id="submit-job-viewer-note"),
            ),
            spacing="3", padding="12px", width="100%",
        ),
        style={"flex_shrink": "0"},
    )
