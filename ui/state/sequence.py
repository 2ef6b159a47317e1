"""Sequence track state: the tab's current sequence (clips laid end to end under the filmstrip).

Every edit goes to the API at once (`createSequence` on the first append, then `updateSequence`
with the whole clip list), so the sequence is saved and survives a restart; the API checks every
clip and its refusal is shown as it came. E (timeline.js) or the append button adds the editor's
in/out selection; a clip dragged onto another takes its place; a click on a clip reopens its source at its range; a clip's × removes it; Render queues one job with the editor's preset.
Ctrl+Z / Ctrl+Shift+Z (timeline.js, or the buttons) undo and redo clip edits: each saved edit
pushes the clips as they were, and an undo saves that earlier list again.
"""
from __future__ import annotations

import dataclasses
import json

import reflex as rx

from ui import api
from ui.state.editor import EditorState
from ui.timecode import format_duration, format_tc


@dataclasses.dataclass
class SequenceClipRow:
    source_id: str = ""
    name: str = ""
    start: float = 0.0
    end: float = 0.0
    label: str = ""  # "name · 00:00:01.000–00:00:02.500"
    grow: str = "1"  # flex-grow: proportional to the clip's length
    fps: float = 0.0  # the source's frame rate
    thumb: str = "none"  # CSS background of the clip: its source's filmstrip tile at the clip's start
    thumb_size: str = "auto"
    thumb_pos: str = "0px 0px"


TILE_HEIGHT = 34  # px: the clip boxes' height (ui/components/sequence_track.py)


def _thumb(source: dict, start: float) -> dict:
    """The filmstrip sprite's tile nearest the clip's start, as CSS background fields ({} without one)."""
    frames, url, duration = source.get("filmstripFrames") or 0, source.get("filmstripUrl"), source.get("duration")
    if not (frames and url and duration):
        return {}
    w, h = source.get("width") or 16, source.get("height") or 9
    tile = max(int(round(TILE_HEIGHT * w / h)), 8)
    index = min(frames - 1, max(0, int(start / duration * frames)))
    return {"thumb": f"url({url})", "thumb_size": f"{frames * tile}px {TILE_HEIGHT}px",
            "thumb_pos": f"-{index * tile}px 0px"}


def clip_rows(sequence: dict) -> list[SequenceClipRow]:
    rows = []
    for c in sequence.get("clips") or []:
        name = (c.get("source") or {}).get("filename") or f"asset {c['sourceId']}"
        length = max(float(c["end"]) - float(c["start"]), 0.0)
        thumb = _thumb(c.get("source") or {}, float(c["start"]))
        rows.append(SequenceClipRow(**thumb, source_id=str(c["sourceId"]), name=name, start=float(c["start"]),
                                    end=float(c["end"]), grow=f"{max(length, 0.001):.3f}",
                                    fps=float((c.get("source") or {}).get("frameRate") or 0.0),
                                    label=f"{name} · {format_tc(c['start'])}–{format_tc(c['end'])}"))
    return rows


def frames_text(clips: list[SequenceClipRow]) -> str:
    fps = max((c.fps for c in clips), default=0.0)
    if not fps:
        return ""
    return f"{sum(max(1, round((c.end - c.start) * fps)) for c in clips)} frames at {fps:g} fps"


class SequenceState(EditorState):
    sequence_id: str = ""
    sequence_name: str = "Sequence 1"
    clips: list[SequenceClipRow] = []
    sequence_error: str = ""
    busy: bool = False
    undo_stack: list[list[SequenceClipRow]] = []
    redo_stack: list[list[SequenceClipRow]] = []

    @rx.var
    def total_text(self) -> str:
        return format_duration(sum(c.end - c.start for c in self.clips)) if self.clips else ""

    @rx.var
    def frames_text(self) -> str:
        """Frames of the render at the sources' highest rate (a preset with a lower rate makes fewer)."""
        return frames_text(self.clips)

    @rx.var
    def clip_count_text(self) -> str:
        n = len(self.clips)
        return f"{n} clip" + ("" if n == 1 else "s") if n else "Empty: set in/out and press E"

    async def _hear(self, news: str) -> list:
        if news == "signed-in" and not self.sequence_id:
            try:
                found = await api.list_sequences()
            except api.ApiError:
                return []
            if found:
                self._show(found[0])
        return []

    def _show(self, sequence: dict) -> None:
        self.sequence_id = str(sequence["id"])
        self.sequence_name = sequence["name"]
        self.clips = clip_rows(sequence)
        self.sequence_error = ""

    async def _save(self, clips: list[SequenceClipRow], history: str = "edit") -> bool:
        """Save `clips` as the sequence; `history`: "edit" (undoable, clears redo), "undo", "redo"."""
        before = list(self.clips)
        payload = [{"sourceId": c.source_id, "start": c.start, "end": c.end} for c in clips]
        try:
            if self.sequence_id:
                saved = await api.update_sequence(self.sequence_id, clips=payload)
            else:
                saved = await api.create_sequence(self.sequence_name.strip() or "Sequence", payload)
        except api.ApiError as exc:
            self.sequence_error = exc.message
            return False
        self._show(saved)
        if history == "redo" or history == "edit":
            self.undo_stack = [*self.undo_stack[-49:], before]
            if history == "edit":
                self.redo_stack = []
        else:
            self.redo_stack = [*self.redo_stack[-49:], before]
        return True

    @rx.event
    async def move_clip(self, payload: str):
        """timeline.js's drop of a dragged clip: {"from": i, "to": j} (indexes in the current list)."""
        try:
            data = json.loads(payload)
            a, b = int(data["from"]), int(data["to"])
        except (ValueError, TypeError, KeyError):
            return
        if not self.authenticated or a == b or not (0 <= a < len(self.clips) and 0 <= b < len(self.clips)):
            return
        clips = list(self.clips)
        clips.insert(b, clips.pop(a))
        await self._save(clips)

    @rx.event
    def reopen(self, index: int):
        """Open a clip's source in the editor with the clip's range as in/out."""
        if not self.authenticated or not 0 <= index < len(self.clips):
            return
        clip = self.clips[index]
        return [EditorState.open_asset(clip.source_id), SequenceState.select_range(clip.start, clip.end)]

    @rx.event
    def select_range(self, start: float, end: float):
        if self.has_asset:
            self._set_points(float(start), float(end))
            return EditorState.refresh_trim_plan

    @rx.event
    async def undo(self):
        if not self.authenticated or not self.undo_stack or self.busy:
            return
        previous = self.undo_stack[-1]
        if await self._save(previous, "undo"):
            self.undo_stack = self.undo_stack[:-1]

    @rx.event
    async def redo(self):
        if not self.authenticated or not self.redo_stack or self.busy:
            return
        following = self.redo_stack[-1]
        if await self._save(following, "redo"):
            self.redo_stack = self.redo_stack[:-1]

    @rx.event
    async def append_selection(self):
        """Add the editor's in/out selection of the open asset at the end of the sequence."""
        if not self.authenticated or not self.has_asset or self.busy:
            return
        if self.trim_message:
            self.sequence_error = self.trim_message
            return
        self.busy = True
        clip = SequenceClipRow(source_id=self.asset.id, name=self.asset.name, start=self.in_s,
                               end=min(self.out_s, self.asset.duration))
        await self._save([*self.clips, clip])
        self.busy = False

    @rx.event
    async def remove_clip(self, index: int):
        if not self.authenticated or not 0 <= index < len(self.clips):
            return
        await self._save([c for i, c in enumerate(self.clips) if i != index])

    @rx.event
    async def rename(self, name: str):
        name = name.strip()
        if not self.authenticated or not name or name == self.sequence_name:
            return
        self.sequence_name = name
        if self.sequence_id:
            try:
                self._show(await api.update_sequence(self.sequence_id, name=name))
            except api.ApiError as exc:
                self.sequence_error = exc.message

    @rx.event
    async def render(self):
        if not self.authenticated or not self.sequence_id or not self.clips or not self.preset_id:
            return
        try:
            job = await api.render_sequence(self.sequence_id, self.preset_id)
        except api.ApiError as exc:
            self.sequence_error = exc.message
            return
        self.sequence_error = ""
        yield rx.toast.success(f"Job {job['id']} queued: {job.get('outputFilename') or self.sequence_name}")
        for event in await self._announce("job-created"):
            yield event
