"""Sequence track state: the tab's current sequence (clips laid end to end under the filmstrip).

Every edit goes to the API at once (`createSequence` on the first append, then `updateSequence`
with the whole clip list), so the sequence is saved and survives a restart; the API checks every
clip and its refusal is shown as it came. E (timeline.js) or the append button adds the editor's
in/out selection; a clip dragged onto another takes its place; a clip's edge dragged (or moved with
the keys) trims it (sequence_track.js, through the #sequence-bridge as `js_edit`); a click on a clip
reopens its source at its range; a clip's × removes it; Render queues one job with the editor's
Outputs: the chosen output template's outputs, else one file with its preset.
Ctrl+Z / Ctrl+Shift+Z (timeline.js, or the buttons) undo and redo clip edits: each saved edit
pushes the clips as they were, and an undo saves that earlier list again.
The saved sequences are listed (`sequences`): one is open at a time; New, Duplicate and Delete
(confirmed) act on the list, and switching clears the undo history (it belongs to one sequence).
"""
from __future__ import annotations

import dataclasses
import json
import math

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
    url: str = ""  # the source's media URL: the sequence preview plays it (sequence_track.js)
    duration: float = 0.0  # the source's length: a trimmed end cannot pass it
    start_text: str = ""  # timecodes read by screen readers on the edge handles
    end_text: str = ""


@dataclasses.dataclass
class SequenceChoice:
    id: str = ""
    name: str = ""


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
        source = c.get("source") or {}
        rows.append(SequenceClipRow(**thumb, source_id=str(c["sourceId"]), name=name, start=float(c["start"]),
                                    end=float(c["end"]), grow=f"{max(length, 0.001):.3f}",
                                    fps=float(source.get("frameRate") or 0.0), url=source.get("mediaUrl") or "",
                                    duration=float(source.get("duration") or 0.0),
                                    start_text=format_tc(c["start"]), end_text=format_tc(c["end"]),
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
    sequences: list[SequenceChoice] = []  # every saved sequence (the picker), most recently changed first
    copy_possible: bool = False  # the API's streamCopy check of the open sequence
    copy_reasons: list[str] = []

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

    @rx.var
    def copy_text(self) -> str:
        """What the render control says about stream copy (the API's Sequence.streamCopy)."""
        if not self.clips:
            return ""
        if self.copy_possible:
            return "Stream copy possible: every clip shares codec parameters and starts on a keyframe " \
                   "(renders re-encode today)"
        n = len(self.copy_reasons)
        return f"Re-encodes: stream copy is not possible ({n} reason{'' if n == 1 else 's'})"

    async def _hear(self, news: str) -> list:
        if news == "signed-in" and not self.sequence_id:
            await self._load_list()
            if self.sequences:
                await self._open(self.sequences[0].id)
        return []

    async def _load_list(self) -> None:
        try:
            self.sequences = [SequenceChoice(id=str(s["id"]), name=s["name"]) for s in await api.sequence_names()]
        except api.ApiError as exc:
            self.sequence_error = exc.message

    async def _open(self, sequence_id: str) -> None:
        try:
            found = await api.get_sequence(sequence_id)
        except api.ApiError as exc:
            self.sequence_error = exc.message
            return
        if found is None:
            self.sequence_error = "That sequence no longer exists."
            await self._load_list()
            return
        self._show(found)
        self.undo_stack, self.redo_stack = [], []

    def _show(self, sequence: dict) -> None:
        self.sequence_id = str(sequence["id"])
        self.sequence_name = sequence["name"]
        self.clips = clip_rows(sequence)
        self.sequence_error = ""
        copy = sequence.get("streamCopy") or {}
        self.copy_possible, self.copy_reasons = bool(copy.get("possible")), list(copy.get("reasons") or [])
        choice = SequenceChoice(id=self.sequence_id, name=self.sequence_name)
        if any(c.id == choice.id for c in self.sequences):
            self.sequences = [choice if c.id == choice.id else c for c in self.sequences]
        else:
            self.sequences = [choice, *self.sequences]

    @rx.event
    async def open_sequence(self, sequence_id: str):
        """The picker: open another saved sequence."""
        if not self.authenticated or not sequence_id or sequence_id == self.sequence_id:
            return
        await self._open(sequence_id)

    @rx.event
    async def new_sequence(self):
        if not self.authenticated:
            return
        taken = {c.name for c in self.sequences}
        n = len(self.sequences) + 1
        while f"Sequence {n}" in taken:
            n += 1
        try:
            created = await api.create_sequence(f"Sequence {n}", [])
        except api.ApiError as exc:
            self.sequence_error = exc.message
            return
        self.sequences = [SequenceChoice(id=str(created["id"]), name=created["name"]), *self.sequences]
        self._show(created)
        self.undo_stack, self.redo_stack = [], []

    @rx.event
    async def duplicate(self):
        if not self.authenticated or not self.sequence_id:
            return
        try:
            copy = await api.duplicate_sequence(self.sequence_id)
        except api.ApiError as exc:
            self.sequence_error = exc.message
            return
        self.sequences = [SequenceChoice(id=str(copy["id"]), name=copy["name"]), *self.sequences]
        self._show(copy)
        self.undo_stack, self.redo_stack = [], []

    @rx.event
    async def delete_current(self):
        """Delete the open sequence (the dialog asked first) and open the next one, if any."""
        if not self.authenticated or not self.sequence_id:
            return
        try:
            await api.delete_sequence(self.sequence_id)
        except api.ApiError as exc:
            self.sequence_error = exc.message
            return
        gone = self.sequence_id
        self.sequences = [c for c in self.sequences if c.id != gone]
        self.sequence_id, self.sequence_name, self.clips = "", "Sequence 1", []
        self.copy_possible, self.copy_reasons = False, []
        self.undo_stack, self.redo_stack = [], []
        if self.sequences:
            await self._open(self.sequences[0].id)

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
    async def js_edit(self, payload: str):
        """The #sequence-bridge: a reorder from timeline.js ({"from": i, "to": j}) or a trim from
        sequence_track.js ({"trim": i, "edge": "start"|"end", "value": seconds})."""
        try:
            data = json.loads(payload)
        except (TypeError, ValueError, RecursionError):
            return
        if not isinstance(data, dict):
            return
        if "trim" in data:
            await self._trim_clip(data.get("trim"), data.get("edge"), data.get("value"))
        else:
            await self._move_clip(data)

    async def _trim_clip(self, index, edge, value) -> None:
        """Move one edge of clip `index` to `value` seconds (frame-snapped here too; the API clamps)."""
        try:
            index, value = int(index), float(value)
        except (TypeError, ValueError, OverflowError):
            return
        if not self.authenticated or edge not in ("start", "end") or not 0 <= index < len(self.clips) \
                or not math.isfinite(value):
            return
        clip = self.clips[index]
        if clip.fps > 0:
            value = round(round(value * clip.fps) / clip.fps, 6)
        frame = 1 / clip.fps if clip.fps > 0 else 0.04
        if edge == "start":
            value = min(max(value, 0.0), clip.end - frame)
            changed = dataclasses.replace(clip, start=round(value, 6))
        else:
            value = max(min(value, clip.duration or value), clip.start + frame)
            changed = dataclasses.replace(clip, end=round(value, 6))
        if abs(changed.start - clip.start) < 1e-6 and abs(changed.end - clip.end) < 1e-6:
            return
        await self._save([changed if i == index else c for i, c in enumerate(self.clips)])

    async def _move_clip(self, data: dict) -> None:
        """timeline.js's drop of a dragged clip: {"from": i, "to": j} (indexes in the current list)."""
        try:
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
        if not self.authenticated or not self.sequence_id or not self.clips or not (self.template_id or self.preset_id):
            return
        try:  # the job form's Outputs: a template's outputs, else one file with its preset
            job = await api.render_sequence(self.sequence_id, None if self.template_id else self.preset_id,
                                            template_id=self.template_id or None)
        except api.ApiError as exc:
            self.sequence_error = exc.message
            return
        self.sequence_error = ""
        yield rx.toast.success(f"Job {job['id']} queued: {job.get('outputFilename') or self.sequence_name}")
        for event in await self._announce("job-created"):
            yield event
