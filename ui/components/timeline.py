"""Player and timeline (center): the <video>, the transport bar with in/out fields, the filmstrip
track with the audio waveform under it and the analysis markers (scene cuts, black, silence).

Positions rendered here come from EditorState (in/out and markers as % of the duration); the
playhead, drags with snapping, zoom (#tl-zoom width, #tl-viewport scroll), the zoomed ruler ticks
and the waveform canvas are painted by timeline.js, which commits through the hidden #tl-bridge.
"""
from __future__ import annotations

import reflex as rx

from ui.components.theme import (
    BAD, BORDER, FAINT, MONO, MUTED, PANEL_2, PLAYHEAD, SELECTION, TEXT, field_label, mono, panel,
)
from ui.components.sequence_track import sequence_track
from ui.components.stream_player import stream_player
from ui.shortcuts import SHORTCUTS, all_shortcuts
from ui.state.editor import EditorState

FILM_HEIGHT = "62px"  # editor.TILE_HEIGHT
WAVE_HEIGHT = "36px"  # the audio lane under the filmstrip: the waveform canvas and silence markers
TRACK_HEIGHT = "100px"  # both lanes + the 1 px border
CUT_COLOR = "#5ec8ff"
SCRIPT = rx.asset("timeline.js", shared=True)
# the window's height less the page header, the editor's title row, the transport row and the timeline
# (at 1280×720: 398 px, 60 % of the centre column); at most 3/4 of the editor's width (#editor-body
# is a size container), at least 180 px
PLAYER_HEIGHT = "max(180px, min(calc(100vh - 322px), 75cqw))"


def _js(call: str):
    return rx.call_script(f"window.mprTimeline && window.mprTimeline.{call}")


def _stream() -> rx.Component:
    """A job's streaming package (hls.js), with its title and a way back to the source."""
    return rx.box(
        stream_player(EditorState.stream_url, EditorState.stream_storyboard, key=EditorState.stream_url),
        rx.hstack(
            rx.badge(rx.icon("radio", size=11), EditorState.stream_title, variant="soft", size="1"),
            rx.icon_button(rx.icon("x", size=12), size="1", variant="soft", color_scheme="gray",
                           on_click=EditorState.close_stream, id="stream-close", title="Back to the source"),
            position="absolute", top="6px", right="6px", spacing="1", align="center",
        ),
        width="100%", height="100%", position="relative",
    )


def _image() -> rx.Component:
    """A GIF/JPEG/PNG/WebP output: an <img> (a <video> shows nothing for those)."""
    return rx.el.img(
        id="player-image", src=EditorState.asset.media_url, alt=EditorState.asset.name,
        style={"width": "100%", "height": "100%", "object_fit": "contain", "background": "#000", "display": "block"},
        key=EditorState.asset.id,
    )


def _audio() -> rx.Component:
    """An audio-only file: an <audio> player (still #player, so the transport and in/out work; the
    waveform is in the timeline's audio lane)."""
    return rx.center(
        rx.vstack(
            rx.icon("audio-lines", size=48, color=MUTED, aria_hidden="true"),
            rx.text(EditorState.asset.name, size="2", color=TEXT),
            rx.el.audio(id="player", src=EditorState.asset.media_url, controls=True, preload="auto",
                        aria_label="Player: " + EditorState.asset.name, key=EditorState.asset.id,
                        style={"width": "min(520px, 90%)"}),
            align="center", spacing="3", width="100%",
        ),
        width="100%", height="100%",
    )


def player() -> rx.Component:
    return rx.box(
        rx.cond(
            EditorState.stream_url != "",
            _stream(),
            rx.cond(
            EditorState.has_asset,
            rx.match(
                EditorState.asset.kind,
                ("image", _image()),
                ("audio", _audio()),
                rx.el.video(
                    id="player",
                    src=EditorState.asset.media_url,
                    poster=EditorState.asset.poster_url,
                    controls=True,
                    preload="auto",
                    plays_inline=True,
                    aria_label="Player: " + EditorState.asset.name,
                    style={"width": "100%", "height": "100%", "object_fit": "contain", "background": "#000",
                           "display": "block"},
                    key=EditorState.asset.id,
                ),
            ),
            rx.center(
                rx.vstack(
                    rx.icon("film", size=40, color=FAINT),
                    rx.text("Select an asset in the library to play it here.", color=MUTED, size="2"),
                    align="center", spacing="2",
                ),
                width="100%", height="100%",
            ),
            ),
        ),
        # as tall as the window allows with the transport and the timeline still in view under it
        # (PLAYER_HEIGHT); the sequence track, the hints and the details follow below the fold of the
        # centre column, which scrolls. Never taller than 3/4 of its width (a narrow column).
        id="player-box", height=PLAYER_HEIGHT, flex_shrink="0", background="#000", border_radius="6px",
        overflow="hidden", position="relative",
    )


def _tc_field(id_: str, label: str, value, rev, on_commit) -> rx.Component:
    return rx.vstack(
        field_label(label, html_for=id_),
        rx.el.input(
            id=id_,
            default_value=value,
            key=value + "-" + rev.to_string(),
            on_blur=on_commit,
            title="HH:MM:SS.mmm, SMPTE HH:MM:SS:FF (;FF drop-frame), frames 150f, or relative +2s / -10f",
            spell_check=False,
            auto_complete="off",
            style={"width": "112px", "font_family": MONO, "font_size": "13px", "padding": "4px 8px",
                   "background": "#0b0d11", "color": TEXT, "border": f"1px solid {BORDER}",
                   "border_radius": "4px", "outline": "none"},
            _focus={"border_color": SELECTION},
        ),
        spacing="1",
    )


def transport() -> rx.Component:
    button = dict(size="1", variant="ghost", color_scheme="gray")
    return rx.hstack(
        rx.hstack(
            rx.icon_button(rx.icon("step-back", size=16), on_click=_js("step(-1)"), title="Back one frame (←)",
                           aria_label="Back one frame", **button),
            # both icons; timeline.js sets data-playing on play/pause and the theme shows the right one
            rx.icon_button(rx.icon("play", size=16, class_name="icon-play"),
                           rx.icon("pause", size=16, class_name="icon-pause"),
                           on_click=_js("toggle()"), title="Play / pause (Space)", aria_label="Play",
                           id="play-toggle", **button),
            rx.icon_button(rx.icon("step-forward", size=16), on_click=_js("step(1)"), title="Forward one frame (→)",
                           aria_label="Forward one frame", **button),
            rx.vstack(
                # SMPTE HH:MM:SS:FF (HH:MM:SS;FF drop-frame at 29.97/59.94), painted by timeline.js
                rx.el.span("00:00:00:00", id="tl-time",
                           style={"font_family": MONO, "font_size": "15px", "color": TEXT, "white_space": "nowrap"}),
                rx.el.span(id="tl-frame", style={"font_family": MONO, "font_size": "11px", "color": FAINT,
                                                 "white_space": "nowrap"}),
                spacing="0", padding_left="6px", min_width="108px",
            ),
            spacing="1", align="center",
        ),
        rx.spacer(),
        rx.hstack(
            _tc_field("in-point", "In  (I)", EditorState.in_text, EditorState.in_rev, EditorState.commit_in),
            _tc_field("out-point", "Out  (O)", EditorState.out_text, EditorState.out_rev, EditorState.commit_out),
            rx.vstack(
                field_label("Selection"),
                mono(EditorState.selection_text, size="2", color=SELECTION, id="selection-duration",
                     padding_top="3px", white_space="nowrap"),
                rx.text(EditorState.selection_frames, size="1", color=FAINT, white_space="nowrap",
                        margin_top="-4px"),
                spacing="1",
            ),
            rx.icon_button(rx.icon("rotate-ccw", size=14), on_click=EditorState.reset_points,
                           id="reset-points", title="Select the whole clip", aria_label="Select the whole clip", size="1", variant="soft", color_scheme="gray",
                           margin_top="16px"),
            spacing="2", align="start", flex_wrap="wrap", row_gap="4px",  # the reset button wraps before it is cut
        ),
        # at 1024 px the in/out fields go under the transport instead of past the edge
        width="100%", align="center", padding="2px 4px 0", flex_wrap="wrap", row_gap="6px",
    )


def _filmstrip() -> rx.Component:
    """One cell per sprite tile across the track; each shows its tile at true aspect, centred and cropped."""
    return rx.hstack(
        rx.foreach(
            EditorState.filmstrip_tiles,
            lambda pos: rx.box(
                rx.box(
                    position="absolute", top="0", left="50%", transform="translateX(-50%)",
                    height="100%", width=EditorState.filmstrip_tile_width,
                    background_image=f"url({EditorState.asset.filmstrip_url})",
                    background_size=EditorState.filmstrip_size,
                    background_position=pos,
                    background_repeat="no-repeat",
                ),
                flex="1", height="100%", position="relative", overflow="hidden",
                border_right="1px solid #000",
            ),
        ),
        spacing="0", position="absolute", top="0", left="0", right="0", height=FILM_HEIGHT,
        class_name="tl-strip",
    )


def _filmstrip_zoomed() -> rx.Component:
    """While zoomed, timeline.js fills this with tiles for the visible range only: one slot per tile
    width across the viewport, each showing the sprite tile of its instant."""
    return rx.box(id="tl-strip-zoomed", style={
        "position": "absolute", "top": "0", "left": "0", "height": FILM_HEIGHT, "width": "100%",
        "display": "none", "overflow": "hidden", "pointer_events": "none",
    })


def _markers() -> list[rx.Component]:
    """Scene cuts (lines across both lanes), black stretches (over the filmstrip), silences (over the
    waveform lane). Ids start with tl-marker; positions in % of the track, so they follow the zoom."""
    lane = {"position": "absolute", "pointer_events": "none", "z_index": "1"}
    return [
        rx.foreach(EditorState.black_markers, lambda m: rx.box(
            id="tl-marker-black", class_name="tl-marker tl-marker-black", title="black picture",
            style={**lane, "top": "0", "height": FILM_HEIGHT, "left": m[0] + "%", "width": m[1] + "%",
                   "background": "repeating-linear-gradient(135deg, rgba(0,0,0,0.75) 0 4px, rgba(120,120,140,0.35) 4px 6px)",
                   "border_left": "1px solid #8a8fa3", "border_right": "1px solid #8a8fa3"},
        )),
        rx.foreach(EditorState.silence_markers, lambda m: rx.box(
            id="tl-marker-silence", class_name="tl-marker tl-marker-silence", title="silence",
            style={**lane, "top": FILM_HEIGHT, "height": WAVE_HEIGHT, "left": m[0] + "%", "width": m[1] + "%",
                   "background": "rgba(160,120,255,0.18)", "border_top": "1px dashed rgba(160,120,255,0.7)"},
        )),
        rx.foreach(EditorState.cut_markers, lambda left: rx.box(
            id="tl-marker-cut", class_name="tl-marker tl-marker-cut", title="scene cut",
            style={**lane, "top": "0", "bottom": "0", "left": left + "%", "width": "1px",
                   "margin_left": "-0.5px", "background": CUT_COLOR, "box_shadow": "0 0 3px rgba(94,200,255,0.7)"},
        )),
    ]


def _waveform() -> rx.Component:
    """The audio lane's canvas; timeline.js sizes it to the visible part of the track and draws the
    peaks of the visible time range at device-pixel resolution (crisp at any zoom)."""
    return rx.el.canvas(
        id="tl-waveform",
        style={"position": "absolute", "top": FILM_HEIGHT, "left": "0", "height": WAVE_HEIGHT,
               "width": "100%", "pointer_events": "none", "background": "#0a0c10",
               "border_top": "1px solid #000"},
    )


def _zoom_bar() -> rx.Component:
    button = dict(size="1", variant="ghost", color_scheme="gray")
    return rx.hstack(
        rx.text("Zoom", size="1", color=FAINT),
        rx.icon_button(rx.icon("minus", size=14), id="tl-zoom-out", title="Zoom out (−, Ctrl+wheel)", **button),
        rx.el.span("1×", id="tl-zoom-level", style={"font_family": MONO, "font_size": "11px", "color": MUTED,
                                                    "min_width": "44px", "text_align": "center"}),
        rx.icon_button(rx.icon("plus", size=14), id="tl-zoom-in", title="Zoom in (+, Ctrl+wheel)", **button),
        spacing="1", align="center", flex_shrink="0",
        # nothing to zoom without a clip (and dimmed text under the timeline's opacity would be unreadable)
        visibility=rx.cond(EditorState.has_asset, "visible", "hidden"),
    )


def _edge_color():
    """Amber for a valid selection, red while the job panel explains what is wrong with it."""
    return rx.cond(EditorState.trim_message != "", BAD, SELECTION)


def _handle(id_: str, pct) -> rx.Component:
    """An in/out handle: dragged with the pointer, or focused and moved with ←/→ (a frame; Shift:
    ten) as a slider whose value a screen reader reads as a timecode (timeline.js does the keys)."""
    is_in = id_ == "tl-in"
    return rx.box(
        rx.box(width="2px", height="100%", background=_edge_color(), margin="0 auto"),
        id=id_,
        role="slider",
        tab_index=0,
        aria_label="In point" if is_in else "Out point",
        custom_attrs={
            "aria-valuemin": "0",
            "aria-valuemax": EditorState.asset.duration.to_string(),
            "aria-valuenow": (EditorState.in_s if is_in else EditorState.out_s).to_string(),
            "aria-valuetext": EditorState.in_text if is_in else EditorState.out_text,
            "aria-orientation": "horizontal",
        },
        position="absolute", top="-4px", bottom="-4px", left=pct.to_string() + "%",
        width="14px", margin_left="-7px", cursor="ew-resize", z_index="3",
        _before={"content": "''", "position": "absolute", "top": "0", "left": "1px", "width": "12px",
                 "height": "10px", "background": SELECTION, "border_radius": "2px"},
        _after={"content": "''", "position": "absolute", "bottom": "0", "left": "1px", "width": "12px",
                "height": "10px", "background": SELECTION, "border_radius": "2px"},
    )


def _ruler() -> rx.Component:
    """Ticks across the whole clip at 1×; hidden while zoomed, when #tl-ticks (timeline.js) shows
    the visible range, down to single frames."""
    return rx.box(
        rx.foreach(
            EditorState.ruler,
            lambda tick: rx.box(
                rx.text(tick[1], size="1", color=FAINT, font_family=MONO, white_space="nowrap",
                        style={"font_size": "10px"}),
                position="absolute", left=tick[0] + "%", top="0", padding_left="3px",
                border_left=f"1px solid {BORDER}", height="100%",
            ),
        ),
        id="tl-ruler", position="relative", height="18px", margin_bottom="4px", overflow="hidden",
    )


def _track() -> rx.Component:
    in_pct, out_pct = EditorState.in_pct, EditorState.out_pct
    shade = {"position": "absolute", "top": "0", "bottom": "0", "background": "rgba(5,6,9,0.62)",
             "pointer_events": "none", "z_index": "1"}
    return rx.box(
        _filmstrip(),
        _filmstrip_zoomed(),
        _waveform(),
        *_markers(),
        rx.box(id="tl-shade-in", style={**shade, "left": "0", "width": in_pct.to_string() + "%"}),
        rx.box(id="tl-shade-out", style={**shade, "left": out_pct.to_string() + "%",
                                         "width": (100 - out_pct).to_string() + "%"}),
        rx.box(id="tl-selection", style={
            "position": "absolute", "top": "0", "bottom": "0", "z_index": "2", "pointer_events": "none",
            "left": in_pct.to_string() + "%", "width": (out_pct - in_pct).to_string() + "%",
            "border_top_width": "2px", "border_bottom_width": "2px", "border_style": "solid none",
            "border_color": _edge_color(),
        }),
        _handle("tl-in", in_pct),
        _handle("tl-out", out_pct),
        rx.box(id="tl-playhead", style={
            "position": "absolute", "top": "-22px", "bottom": "-4px", "left": "0%", "width": "2px",
            "margin_left": "-1px", "background": PLAYHEAD, "z_index": "4", "pointer_events": "none",
            "box_shadow": "0 0 4px rgba(255,90,95,0.6)",
        }),
        id="tl-track",
        position="relative", height=TRACK_HEIGHT, background="#07080b", border_radius="4px",
        border=f"1px solid {BORDER}", cursor="text", user_select="none", touch_action="none",
    )


def timeline() -> rx.Component:
    ticks = {"position": "absolute", "top": "0", "left": "0", "right": "0", "height": "18px",
             "display": "none", "pointer_events": "none", "overflow": "hidden"}
    return rx.box(
        rx.box(  # viewport: clips the zoomed content; timeline.js scrolls it
            rx.box(  # the content: 100 % wide at 1×, zoom × 100 % when zoomed in (timeline.js)
                _ruler(),
                rx.box(id="tl-ticks", style=ticks),
                _track(),
                id="tl-zoom", position="relative", width="100%",
            ),
            id="tl-viewport", position="relative", overflow="hidden", padding_bottom="4px",
        ),
        id="timeline",
        custom_attrs={
            "data-duration": EditorState.asset.duration.to_string(),
            "data-fps": EditorState.asset.fps.to_string(),
            "data-in": EditorState.in_s.to_string(),
            "data-out": EditorState.out_s.to_string(),
            "data-waveform": EditorState.asset.waveform_url,
            "data-strip": EditorState.asset.filmstrip_url,
            "data-strip-frames": EditorState.asset.filmstrip_frames.to_string(),
            "data-tile-width": EditorState.filmstrip_tile_width,
            "data-cuts": EditorState.cuts_attr,
            "data-snaps": EditorState.snaps_attr,
        },
        padding="6px 12px 8px",
        flex_shrink="0",
        background=PANEL_2,
        border_radius="6px",
        border=f"1px solid {BORDER}",
        opacity=rx.cond(EditorState.has_asset, "1", "0.45"),
        pointer_events=rx.cond(EditorState.has_asset, "auto", "none"),
    )


def keys_hint() -> rx.Component:
    """Every shortcut, compact (ui/shortcuts.py), in a row under the timeline; the ? button in the
    editor's header (and the ? key) opens the full cheat sheet."""
    return rx.hstack(
        *[rx.hstack(rx.code(k, size="1", variant="soft", color_scheme="gray"),
                    rx.text(hint, size="1", color=FAINT, white_space="nowrap"), spacing="1", align="center")
          for k, _, hint in all_shortcuts() if k != "?"],
        spacing="2", wrap="wrap", row_gap="2px", id="keys-hint", width="100%", padding_x="4px",
        flex_shrink="0",
    )


def shortcuts_dialog() -> rx.Component:
    """The cheat sheet: opened by its ? button or the ? key (timeline.js clicks #shortcuts-open)."""
    return rx.dialog.root(
        rx.dialog.trigger(
            rx.icon_button(rx.text("?", size="1", weight="bold"), id="shortcuts-open", size="1",
                           variant="soft", color_scheme="gray", aria_label="Keyboard shortcuts",
                           title="Keyboard shortcuts (?)"),
        ),
        rx.dialog.content(
            rx.dialog.title("Keyboard shortcuts"),
            rx.dialog.description("The editor's keys; they act when no text field has the focus.",
                                  size="2", color=MUTED),
            rx.grid(  # two columns of groups: the whole list fits a 1280×720 screen without scrolling
                *[rx.box(
                    rx.heading(group, as_="h3", size="2", margin_top="12px", margin_bottom="4px"),
                    rx.el.dl(
                        *[rx.hstack(
                            rx.el.dt(rx.code(k, size="1", variant="soft", color_scheme="gray"), min_width="110px"),
                            rx.el.dd(rx.text(what, size="1", color=TEXT), margin="0"),
                            spacing="2", align="center", padding_y="2px",
                        ) for k, what, _ in rows],
                        margin="0",
                    ),
                ) for group, rows in SHORTCUTS],
                columns="2", column_gap="20px",
            ),
            rx.flex(rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray", id="shortcuts-close")),
                    justify="end", margin_top="12px"),
            id="shortcuts-dialog", max_width="760px",
        ),
    )


def editor_panel() -> rx.Component:
    return panel(
        rx.box(
            rx.hstack(
                rx.heading(rx.cond(EditorState.has_asset, EditorState.asset.name, "No asset selected"),
                           as_="h2", size="2", weight="bold", color=TEXT, id="editor-title",
                        overflow="hidden", text_overflow="ellipsis", white_space="nowrap"),
                rx.spacer(),
                _zoom_bar(),
                shortcuts_dialog(),
                width="100%", align="center", spacing="3",
            ),
            padding="6px 12px", border_bottom=f"1px solid {BORDER}",
        ),
        rx.vstack(
            player(),
            transport(),
            rx.cond(  # right under the fields it is about (the rows below may be out of view)
                EditorState.field_error != "",
                rx.text(EditorState.field_error, size="1", color="#ff6b6b", id="field-error"),
            ),
            timeline(),
            sequence_track(),
            keys_hint(),
            rx.el.input(id="tl-bridge", on_change=EditorState.js_commit, type="text", tab_index=-1,
                        aria_hidden="true", style={"display": "none"}),
            # a size container: the player's height is capped by its width (75cqw)
            spacing="2", padding="8px 10px 10px", width="100%", align="stretch", id="editor-body",
            container_type="inline-size",
        ),
        # as tall as its content: the centre column (ui/components/layout.py) scrolls
        style={"flex_shrink": "0", "overflow": "visible"},
    )
