"""The editor's keyboard shortcuts, one list: the hints bar above the player and the `?` cheat
sheet both render it, so neither can drift from the other. The keys themselves are handled in
ui/components/timeline.js and, for the sequence preview, sequence_track.js (a test compares them,
tests/ui/test_ui_units.py)."""
from __future__ import annotations

# (group, [(keys as shown, what they do, short hint for the bar)])
SHORTCUTS: list[tuple[str, list[tuple[str, str, str]]]] = [
    ("Transport", [
        ("Space", "Play / pause", "play/pause"),
        ("J K L", "Shuttle: back / stop / forward (again: faster)", "shuttle"),
        ("K+J K+L", "With K held: one frame back / forward", "step"),
        ("← →", "One frame back / forward (Shift: ten)", "frame"),
        ("↑ ↓", "Previous / next scene cut", "cut"),
        ("Home End", "Go to the In / Out point", "to in/out"),
    ]),
    ("Marks", [
        ("I O", "Set the In / Out point at the playhead", "set in/out"),
        ("Shift+I Shift+O", "Go to the In / Out point", "go to"),
        ("X", "Mark the clip under the playhead (between scene cuts, or the whole asset)", "mark clip"),
        ("Alt+X", "Clear the marks (the whole asset)", "clear marks"),
    ]),
    ("Sequence", [
        ("E", "Append the In–Out selection to the sequence", "append"),
        ("Ctrl+Z Ctrl+Shift+Z", "Undo / redo a sequence edit", "undo/redo"),
        ("Esc", "Stop the sequence preview (while it plays, Space, J K L, ← → and Home End act across its cuts)",
         "stop preview"),
    ]),
    ("View", [
        ("+ −", "Zoom the timeline in / out (Ctrl+wheel)", "zoom"),
        ("?", "This list of shortcuts", "shortcuts"),
    ]),
]


def all_shortcuts() -> list[tuple[str, str, str]]:
    return [row for _, rows in SHORTCUTS for row in rows]
