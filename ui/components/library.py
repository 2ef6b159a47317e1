"""Library panel (left): search, status filter, upload with progress, folder scan, the asset list.

The list is a window onto any number of assets (ui/state/library.py): rows of one fixed height,
a spacer standing for the rows above the window, and at each end a button that
ui/components/library_scroll.js presses when it scrolls into view (a person may press it too)."""
from __future__ import annotations

import reflex as rx

from ui.components.scan import scan_button, scan_status
from ui.components.theme import (BAD, BORDER, FAINT, MUTED, PANEL_2, RAISED, STATUS_COLORS, TEXT, panel,
                                  panel_title)
from ui.models import AssetRow
from ui.state.base import AppState
from ui.state.library import PAGE_PX, ROW_HEIGHT, UPLOAD_ID, LibraryState
from ui.statuses import ERROR, MISSING, PENDING, READY
from ui.view_query import SORT_LABELS


SCROLL_SCRIPT = rx.asset("library_scroll.js", shared=True)


# The rows are plain elements styled by these classes (merged into the app's global style, ui/ui.py):
# no per-row style props to turn into CSS, no component wrappers, so a page of rows renders cheaply.
ROW_STYLE = {
    ".asset-row": {"display": "flex", "align_items": "center", "gap": "12px", "height": f"{ROW_HEIGHT}px",
                   "flex_shrink": "0", "box_sizing": "border-box", "overflow": "hidden", "padding": "8px 10px",
                   "cursor": "pointer", "border_radius": "6px", "border": "1px solid transparent",
                   # the browser skips style and layout inside the rows out of view (most of the window)
                   "content_visibility": "auto", "contain_intrinsic_size": f"auto {ROW_HEIGHT}px"},
    ".asset-row:hover": {"background": RAISED},
    ".asset-row[aria-selected='true']": {"background": "#1c2540", "border_color": "#4559b8"},
    ".asset-thumb": {"width": "84px", "height": "48px", "flex_shrink": "0", "border_radius": "4px",
                     "overflow": "hidden", "background": "#0a0c10", "border": f"1px solid {BORDER}",
                     "display": "flex", "align_items": "center", "justify_content": "center", "color": FAINT},
    ".asset-thumb img": {"width": "100%", "height": "100%", "object_fit": "cover"},
    ".asset-text": {"display": "flex", "flex_direction": "column", "gap": "4px", "min_width": "0", "flex": "1"},
    ".asset-name": {"font_size": "14px", "line_height": "20px", "font_weight": "500", "color": TEXT},
    ".asset-name, .asset-error, .asset-meta-text": {"overflow": "hidden", "text_overflow": "ellipsis",
                                                    "white_space": "nowrap"},
    ".asset-meta": {"display": "flex", "align_items": "center", "gap": "4px", "width": "100%"},
    ".asset-error, .asset-meta-text": {"font_size": "12px", "line_height": "16px", "min_width": "0", "flex": "1"},
    ".asset-error": {"color": BAD},
    ".asset-meta-text": {"color": MUTED},
}


@rx.memo
def _asset_option(asset_id: rx.Var[str], name: rx.Var[str], status: rx.Var[str], poster_url: rx.Var[str],
                  duration_text: rx.Var[str], resolution: rx.Var[str], error: rx.Var[str],
                  selected: rx.Var[bool], rest: rx.RestProp) -> rx.Component:
    """One row, a React.memo of plain elements: when the window moves only the rows that came are
    rendered, not the hundreds already there (their props are unchanged)."""
    return rx.el.div(
        rx.el.div(
            rx.cond(
                poster_url != "",
                rx.el.img(src=poster_url, alt="", loading="lazy"),
                rx.cond(status == ERROR, rx.icon("file-warning", size=20), rx.icon("film", size=20)),
            ),
            class_name="asset-thumb",
        ),
        rx.el.div(
            rx.el.span(name, class_name="asset-name", title=name),
            rx.el.div(
                rx.cond(  # one line either way: every row is ROW_HEIGHT tall (the list's spacer counts on it)
                    error != "",
                    rx.el.span(error, class_name="asset-error", title=error),
                    rx.el.span(duration_text, rx.cond(resolution != "", " · ", ""), resolution,
                               class_name="asset-meta-text"),
                ),
                # a radix Badge's own markup and classes (theme.status_badge), without its component
                rx.el.span(status, class_name="rt-reset rt-Badge rt-r-size-1 rt-variant-soft asset-status",
                           custom_attrs={"data-accent-color": rx.match(status, *STATUS_COLORS.items(), "gray"),
                                         "data-radius": "full"}),
                class_name="asset-meta",
            ),
            class_name="asset-text",
        ),
        rest,  # the call site's `key` (React takes it there; nothing else is passed)
        id="asset-item",
        class_name="asset-row",
        # an option of the #asset-list listbox: Tab reaches it, ↑/↓ move, Enter opens (timeline.js)
        tab_index=0,
        custom_attrs={"role": "option", "data-asset-id": asset_id, "data-status": status, "data-name": name,
                      "aria-selected": rx.cond(selected, "true", "false")},
        on_click=LibraryState.select(asset_id),
    )


def asset_item(asset: AssetRow) -> rx.Component:
    return _asset_option(
        asset_id=asset.id, name=asset.name, status=asset.status, poster_url=asset.poster_url,
        duration_text=asset.duration_text, resolution=asset.resolution, error=asset.error,
        selected=LibraryState.selected_id == asset.id,
        key=asset.id,  # React keeps a row (and its focus) by asset while the window moves
    )


def _upload_box() -> rx.Component:
    return rx.upload.root(
        rx.button(
            rx.icon("upload", size=14), "Upload",
            size="1", variant="soft", id="upload-button", loading=LibraryState.uploading,
        ),
        id=UPLOAD_ID,
        multiple=True,
        no_drag=False,
        no_keyboard=True,
        on_drop=LibraryState.handle_upload(
            rx.upload_files(upload_id=UPLOAD_ID, on_upload_progress=LibraryState.upload_progress)
        ),
        border="none",
        padding="0",
    )


def _toolbar() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.input(
                rx.input.slot(rx.icon("search", size=14)),
                placeholder="Search name or tag…",
                value=LibraryState.search,
                on_change=LibraryState.set_search.debounce(250),
                size="1", width="100%", id="asset-search",
            ),
            rx.select.root(
                rx.select.trigger(id="asset-status-filter", width="92px", aria_label="Asset status"),
                rx.select.content(
                    rx.select.item("All", value="all"),
                    rx.select.item("Ready", value=READY),
                    rx.select.item("Pending", value=PENDING),
                    rx.select.item("Error", value=ERROR),
                    rx.select.item("Missing", value=MISSING),
                ),
                value=LibraryState.status_filter,
                on_change=LibraryState.set_status_filter,
                size="1",
            ),
            spacing="2", width="100%",
        ),
        rx.segmented_control.root(
            rx.segmented_control.item("Sources", value="in"),
            rx.segmented_control.item("Outputs", value="out"),
            rx.segmented_control.item("All", value="all"),
            value=LibraryState.area_filter,
            on_change=LibraryState.set_area_filter,
            size="1", width="100%", id="asset-area-filter",
        ),
        rx.cond(
            AppState.can_edit,  # a viewer gets no upload or scan (the API refuses them anyway)
            rx.hstack(
                _upload_box(),
                scan_button(),
                spacing="2", width="100%", align="center",
            ),
        ),
        scan_status(),
        rx.cond(
            LibraryState.uploading,
            rx.vstack(
                rx.hstack(
                    rx.text(LibraryState.upload_phase, size="1", color=MUTED),
                    rx.spacer(),
                    rx.text(LibraryState.upload_pct, "%", size="1", color=MUTED),
                    width="100%",
                ),
                rx.progress(value=LibraryState.upload_pct, max=100, size="1", id="upload-progress",
                            aria_label="Upload progress"),
                width="100%", spacing="1",
            ),
        ),
        rx.cond(
            LibraryState.upload_error != "",
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle-alert", size=14)),
                rx.callout.text(LibraryState.upload_error),
                color_scheme="red", size="1", id="upload-error", width="100%",
                on_click=LibraryState.dismiss_upload_error, cursor="pointer",
            ),
        ),
        padding="10px 12px",
        spacing="2",
        width="100%",
        border_bottom=f"1px solid {BORDER}",
        background=PANEL_2,
    )


def _sort_picker() -> rx.Component:
    """The list's order (GraphQL `assets(sort:)`), kept in the URL with the filters."""
    return rx.select.root(
        rx.select.trigger(id="asset-sort", width="96px", aria_label="Sort assets by", title="Sort",
                          margin_left="8px"),
        rx.select.content(*[rx.select.item(label, value=value) for value, label in SORT_LABELS.items()]),
        value=LibraryState.sort,
        on_change=LibraryState.set_sort,
        size="1",
    )


def library_panel() -> rx.Component:
    return panel(
        panel_title("Library", rx.text(LibraryState.count_text, size="1", color=FAINT, id="asset-count", white_space="nowrap"),
                    _sort_picker()),
        _toolbar(),
        rx.cond(
            LibraryState.list_error != "",
            rx.text(LibraryState.list_error, color=BAD, size="1", padding="8px 12px"),
        ),
        rx.box(
            rx.cond(  # the rows above the window: their height, with "previous" at its foot
                LibraryState.window_start > 0,
                rx.box(
                    rx.button(rx.icon("chevrons-up", size=14, aria_hidden="true"), "Show previous 100",
                              size="1", variant="soft", color_scheme="gray",
                              on_click=LibraryState.load_previous, id="asset-previous"),
                    id="asset-list-above", height=LibraryState.top_pad, flex_shrink="0",
                    display="flex", align_items="flex-end", padding="0 4px 4px", box_sizing="border-box",
                ),
            ),
            rx.box(  # options only (axe: a listbox holds no buttons); "Show more" comes after it
                rx.foreach(LibraryState.assets, asset_item),
                id="asset-listbox", role="listbox", aria_label="Library",
                display="flex", flex_direction="column", gap="2px", flex_shrink="0",
            ),
            rx.cond(LibraryState.more_text != "",
                    rx.button(rx.icon("chevrons-down", size=14, aria_hidden="true"), "Show ",
                              LibraryState.more_text, size="1", variant="soft", color_scheme="gray",
                              on_click=LibraryState.load_more, id="asset-more", margin="6px 4px",
                              flex_shrink="0")),
            rx.cond(
                (LibraryState.total == 0) & ~LibraryState.loading,
                rx.vstack(
                    rx.icon("clapperboard", size=28, color=FAINT),
                    rx.text("No assets yet.", size="2", color=MUTED),
                    rx.text("Upload a file or scan the media folder.", size="1", color=FAINT),
                    align="center", padding="40px 12px", spacing="2",
                ),
            ),
            rx.el.input(id="asset-list-bridge", on_change=LibraryState.show_page, type="text", tab_index=-1,
                        aria_hidden="true", style={"display": "none"}),
            id="asset-list",
            custom_attrs={"data-page-px": PAGE_PX, "data-window-page": LibraryState.window_page,
                          "data-generation": LibraryState.generation},
            flex="1", overflow_y="auto", padding="6px", min_height="0",
            display="flex", flex_direction="column", gap="2px",
            overflow_anchor="none",  # the window keeps rows in place itself (spacer = dropped rows)
        ),
    )
