"""Asset details (center, under the timeline): metadata, editable tags and comments, delete with confirmation."""
from __future__ import annotations

import reflex as rx

from ui.components.theme import BAD, BORDER, FAINT, MUTED, TEXT, field_label, panel, panel_title, status_badge
from ui.state.base import AppState
from ui.state.details import DetailsState


def _facts() -> rx.Component:
    return rx.grid(
        rx.foreach(
            DetailsState.asset.facts,
            lambda fact: rx.fragment(
                rx.text(fact[0], size="1", color=FAINT, white_space="nowrap"),
                rx.text(fact[1], size="1", color=TEXT, overflow="hidden", text_overflow="ellipsis",
                        white_space="nowrap", title=fact[1]),
            ),
        ),
        grid_template_columns="auto minmax(0, 1fr)", column_gap="12px", row_gap="6px",
        min_width="0", flex="1.2",
        id="asset-facts",
    )


def _tags() -> rx.Component:
    return rx.vstack(
        field_label("Tags"),
        rx.flex(
            rx.foreach(
                DetailsState.tags_draft,
                lambda tag: rx.badge(
                    tag,
                    rx.cond(AppState.can_edit,
                            rx.icon("x", size=11, cursor="pointer", on_click=DetailsState.remove_tag(tag))),
                    variant="surface", color_scheme="indigo", radius="full", class_name="tag-chip",
                ),
            ),
            rx.cond(
                AppState.can_edit,
                rx.el.input(
                    value=DetailsState.tag_input,
                    on_change=DetailsState.set_tag_input,
                    on_key_down=DetailsState.tag_key,
                    placeholder="add tag ↵",
                    id="tag-input",
                    style={"background": "transparent", "border": "none", "outline": "none", "color": TEXT,
                           "font_size": "12px", "min_width": "80px", "flex": "1"},
                ),
            ),
            wrap="wrap", gap="4px", align="center", padding="4px 6px", width="100%",
            border=f"1px solid {BORDER}", border_radius="4px", background="#0b0d11", min_height="30px",
        ),
        field_label("Comments"),
        rx.text_area(
            value=DetailsState.comments_draft,
            on_change=DetailsState.set_comments_draft,
            placeholder="Notes about this clip…",
            id="asset-comments", size="1", rows="2", width="100%", resize="none",
            read_only=~AppState.can_edit,
        ),
        spacing="1", flex="1", min_width="0",
    )


def _delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(rx.icon("trash-2", size=14), "Delete", size="1", variant="soft", color_scheme="red",
                      id="delete-asset"),
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete this asset?"),
            rx.alert_dialog.description(
                rx.text("“", DetailsState.asset.name, "” and the jobs that used it as their source "
                        "will be removed from the catalog.", size="2"),
            ),
            rx.hstack(
                rx.checkbox(checked=DetailsState.delete_file, on_change=DetailsState.set_delete_file,
                            id="delete-file"),
                rx.text("Also delete the file from storage", size="2"),
                spacing="2", align="center", padding_y="12px",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button("Delete", color_scheme="red", on_click=DetailsState.delete, id="confirm-delete"),
                ),
                spacing="3", justify="end",
            ),
            max_width="440px",
        ),
        open=DetailsState.confirm_open,
        on_open_change=DetailsState.set_confirm_open,
    )


def details_panel() -> rx.Component:
    return panel(
        panel_title(
            "Asset details",
            rx.cond(DetailsState.has_asset, status_badge(DetailsState.asset.status)),
        ),
        rx.cond(
            DetailsState.has_asset,
            rx.hstack(
                _facts(),
                rx.separator(orientation="vertical", size="4"),
                _tags(),
                rx.cond(
                    AppState.can_edit,  # a viewer gets no save or delete (the API refuses them anyway)
                    rx.vstack(
                        rx.button(rx.icon("save", size=14), "Save", size="1", id="save-details",
                                  disabled=~DetailsState.dirty, loading=DetailsState.saving,
                                  on_click=DetailsState.save),
                        _delete_dialog(),
                        rx.cond(DetailsState.details_error != "",
                                rx.text(DetailsState.details_error, size="1", color=BAD, max_width="140px")),
                        spacing="2", align="stretch",
                    ),
                ),
                rx.cond(DetailsState.asset.error != "",
                        rx.text(DetailsState.asset.error, size="1", color=BAD)),
                spacing="4", padding="10px 12px", align="start", width="100%", overflow_y="auto",
                id="asset-details",
            ),
            rx.text("Nothing selected.", size="1", color=MUTED, padding="12px"),
        ),
        style={"flex_shrink": "0", "height": "188px"},
    )
