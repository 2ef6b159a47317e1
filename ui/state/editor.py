"""Editor state: the open asset, its in/out selection on the timeline and the job form.

The browser owns the playhead and drags (ui/components/timeline.js); it commits in/out values
here on release through a hidden bridge input, and the fields commit on blur/Enter. Values are
snapped to frame starts; `trim_message` explains a selection the API would refuse.
"""
from __future__ import annotations

import json
import re

import reflex as rx

from ui import api
from ui.models import AssetDetail, PresetRow, TemplateRow, asset_detail, preset_row, template_row
from ui.state.base import AppState
from ui.statuses import READY
from ui.timecode import format_tc, parse_entry, snap
from ui.trim import trim_problem

TILE_HEIGHT = 62  # px: the timeline track's inner height (ui/components/timeline.py)
KIND_ORDER = ("video", "audio", "copy", "image")
MARKS_KEPT = 200  # assets whose In/Out a tab remembers
NO_TEMPLATE = "none"  # the template picker's "one file" entry (a select item cannot have the value "")
KIND_LABELS = {"video": "Video", "audio": "Audio only", "copy": "Trim without re-encoding", "image": "Images"}


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "-", text).strip("-").lower() or "output"


def _stem(filename: str) -> str:
    name = filename.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name.strip(".") else name


class EditorState(AppState):
    asset: AssetDetail = AssetDetail()
    has_asset: bool = False
    asset_error: str = ""
    in_s: float = 0.0
    out_s: float = 0.0
    in_text: str = format_tc(0)
    out_text: str = format_tc(0)
    field_error: str = ""
    # bump when a field is committed, so that uncontrolled field re-mounts with the state's text even
    # when it did not change ("4" typed over 00:00:04.000); the OTHER field keeps its element, so
    # what someone is typing there is not wiped by this commit's round trip
    in_rev: int = 0
    out_rev: int = 0
    # In/Out per asset id for this tab: opening another clip (an output to review) and coming back
    # restores the source's marks, as an NLE keeps them per source. Newest last, at most MARKS_KEPT.
    marks: dict[str, list[float]] = {}
    presets: list[PresetRow] = []
    preset_id: str = ""
    templates: list[TemplateRow] = []
    template_id: str = ""  # "" (NO_TEMPLATE in the picker): one output with the preset
    stream_url: str = ""  # a job's streaming package playing in the player instead of the asset
    stream_storyboard: str = ""
    stream_title: str = ""
    output_name: str = ""
    output_name_edited: bool = False
    submitting: bool = False
    submit_error: str = ""
    # copy presets only: "keyframe" (plain stream copy) or "smart" (see the trim-mode block below)
    trim_mode: str = "keyframe"
    trim_plan_text: str = ""

    # ---------------------------------------------------------------- derived
    @rx.var
    def selected_preset(self) -> PresetRow:
        for p in self.presets:
            if p.id == self.preset_id:
                return p
        return PresetRow()

    @rx.var
    def preset_groups(self) -> list[list[PresetRow]]:
        """Presets in KIND_ORDER groups (empty groups dropped); labels in `preset_group_labels`."""
        return [[p for p in self.presets if p.kind == k] for k in KIND_ORDER
                if any(p.kind == k for p in self.presets)]

    @rx.var
    def preset_group_labels(self) -> list[str]:
        return [KIND_LABELS[k] for k in KIND_ORDER if any(p.kind == k for p in self.presets)]

    @rx.var
    def trim_message(self) -> str:
        if not self.has_asset:
            return ""
        if self.asset.status != READY:
            return "This asset is not ready: " + (self.asset.error or "it is still being probed.")
        return trim_problem(self.in_s, self.out_s, self.asset.duration, self.asset.fps)

    @rx.var
    def form_message(self) -> str:
        """Why Submit is disabled, shown under the form; '' when the job can be submitted."""
        if not self.has_asset:
            return "Select an asset in the library."
        if self.trim_message:
            return self.trim_message
        if not self.preset_id and not self.template_id:
            return "Choose a preset."
        return ""

    @rx.var
    def selected_template(self) -> TemplateRow:
        for t in self.templates:
            if t.id == self.template_id:
                return t
        return TemplateRow(id="")

    @rx.var
    def selection_text(self) -> str:
        return format_tc(max(self.out_s - self.in_s, 0.0))

    @rx.var
    def selection_frames(self) -> str:
        if not self.asset.fps:
            return ""
        return f"{max(round((self.out_s - self.in_s) * self.asset.fps), 0)} frames"

    @rx.var
    def in_pct(self) -> float:
        d = self.asset.duration
        return round(min(max(self.in_s / d, 0.0), 1.0) * 100, 4) if d else 0.0

    @rx.var
    def out_pct(self) -> float:
        d = self.asset.duration
        return round(min(max(self.out_s / d, 0.0), 1.0) * 100, 4) if d else 100.0

    @rx.var
    def ruler(self) -> list[list[str]]:
        """[left %, label] ticks across the clip: about 8, on round seconds."""
        d = self.asset.duration
        if not d:
            return []
        step = next((s for s in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
                     if d / s <= 8), 7200)
        ticks, t = [], 0.0
        while t <= d + 1e-9:
            label = format_tc(t)[3:8] if d < 3600 else format_tc(t)[:8]
            if step < 1:
                label = format_tc(t)[3:10]
            ticks.append([f"{t / d * 100:.4f}", label])
            t += step
        return ticks

    # ---------------------------------------------------------------- analysis markers
    def _pct(self, t: float) -> str:
        d = self.asset.duration
        return f"{min(max(t / d, 0.0), 1.0) * 100:.4f}" if d else "0"

    def _spans(self, ranges: list[list[float]]) -> list[list[str]]:
        d = self.asset.duration
        if not d:
            return []
        return [[self._pct(a), f"{max(min(b, d) - max(a, 0.0), 0.0) / d * 100:.4f}"] for a, b in ranges]

    @rx.var
    def cut_markers(self) -> list[str]:
        """left % of each scene cut."""
        return [self._pct(t) for t in self.asset.scene_cuts] if self.asset.duration else []

    @rx.var
    def black_markers(self) -> list[list[str]]:
        """[left %, width %] of each black stretch."""
        return self._spans(self.asset.black_ranges)

    @rx.var
    def silence_markers(self) -> list[list[str]]:
        """[left %, width %] of each silence."""
        return self._spans(self.asset.silence_ranges)

    @rx.var
    def cuts_attr(self) -> str:
        """Scene cuts for timeline.js (↑/↓ jump between them), seconds, comma separated."""
        return ",".join(f"{t:g}" for t in self.asset.scene_cuts)

    @rx.var
    def snaps_attr(self) -> str:
        """Where handles and the playhead snap: scene cuts, keyframes, silence edges (seconds)."""
        points = {*self.asset.scene_cuts, *self.asset.keyframes}
        for a, b in self.asset.silence_ranges:
            points.update((a, b))
        return ",".join(f"{t:g}" for t in sorted(points))

    @rx.var
    def filmstrip_tiles(self) -> list[str]:
        """background-position (px) of each tile of the sprite, one tile per filmstrip frame."""
        n = self.asset.filmstrip_frames
        if n <= 0 or not self.asset.filmstrip_url:
            return []
        width = self._tile_width()
        return [f"-{i * width}px 0px" for i in range(n)]

    def _tile_width(self) -> int:
        aspect = (self.asset.width / self.asset.height) if self.asset.width and self.asset.height else 16 / 9
        return max(int(round(TILE_HEIGHT * aspect)), 8)

    @rx.var
    def filmstrip_tile_width(self) -> str:
        return f"{self._tile_width()}px"

    @rx.var
    def filmstrip_size(self) -> str:
        return f"{max(self.asset.filmstrip_frames, 1) * self._tile_width()}px {TILE_HEIGHT}px"

    @rx.var
    def output_extension(self) -> str:
        if self.template_id:
            return "/"  # a template job writes a folder of outputs
        return "." + self.selected_preset.container if self.selected_preset.container else ""

    # ---------------------------------------------------------------- loading
    async def _hear(self, news: str) -> list:
        if news == "signed-in":
            problem = await self._fetch_presets()
            return [rx.toast.error(problem)] if problem else []
        return []

    @rx.event
    async def load_presets(self):
        if not self.authenticated:
            return
        problem = await self._fetch_presets()
        if problem:
            yield rx.toast.error(problem)

    async def _fetch_presets(self) -> str:
        """Load the preset list (default: H.264 720p); returns '' or what went wrong."""
        try:
            rows = await api.list_presets()
        except api.ApiError as exc:
            return f"Presets could not be loaded: {exc.message}"
        self.presets = [preset_row(r) for r in rows]
        try:
            self.templates = [template_row(r) for r in await api.list_templates()]
        except api.ApiError as exc:
            return f"Output templates could not be loaded: {exc.message}"
        if self.template_id and all(t.id != self.template_id for t in self.templates):
            self.template_id = ""
        if not self.preset_id or all(p.id != self.preset_id for p in self.presets):
            first = next((p for p in self.presets if p.video_codec == "libx264" and "720" in p.name), None) or next(
                (p for k in KIND_ORDER for p in self.presets if p.kind == k), None)
            self.preset_id = first.id if first else ""
        self._prefill_name()
        return ""

    @rx.event
    async def open_asset(self, asset_id: str):
        if not self.authenticated:
            return
        try:
            row = await api.get_asset(asset_id)
        except api.ApiError as exc:
            self.asset_error = exc.message
            return
        if row is None:
            self.asset_error = "That asset no longer exists."
            return
        self.asset, self.has_asset, self.asset_error = asset_detail(row), True, ""
        self.stream_url = self.stream_storyboard = self.stream_title = ""
        self.submit_error = ""
        self._set_points(*self._saved_marks())
        self.output_name_edited = False
        self._prefill_name()
        await self._refresh_trim_plan()
        for event in await self._announce("asset-opened"):  # the details panel resets its drafts
            yield event

    @rx.event
    async def refresh_asset(self):
        """Re-read the open asset (after details were saved elsewhere, or thumbnails arrived)."""
        if not self.has_asset or not self.authenticated:
            return
        try:
            row = await api.get_asset(self.asset.id)
        except api.ApiError:
            return
        if row is None:
            self._clear_asset()
            return
        self.asset = asset_detail(row)

    def _clear_asset(self) -> None:
        """Nothing open any more (the asset was deleted): empty player, timeline and form."""
        self.asset, self.has_asset = AssetDetail(), False
        self.in_s = self.out_s = 0.0
        self.in_text = self.out_text = format_tc(0)
        self.output_name, self.output_name_edited = "", False
        self.field_error = self.submit_error = ""

    def _prefill_name(self) -> None:
        if self.output_name_edited or not self.has_asset:
            return
        preset = self.selected_template if self.template_id else self.selected_preset
        self.output_name = f"{_stem(self.asset.name)}-{_slug(preset.name)}" if preset.id else _stem(self.asset.name)

    # ---------------------------------------------------------------- in / out
    def _saved_marks(self) -> tuple[float, float]:
        """The open asset's kept In/Out, or the whole asset (also when the kept marks no longer
        fit: the asset was re-probed shorter)."""
        d = self.asset.duration
        kept = self.marks.get(self.asset.id)
        if kept and len(kept) == 2 and 0 <= kept[0] < kept[1] <= d + 1e-6:
            return kept[0], kept[1]
        return 0.0, d

    def _keep_marks(self) -> None:
        if not self.has_asset or not self.asset.id:
            return
        kept = {k: v for k, v in self.marks.items() if k != self.asset.id}
        kept[self.asset.id] = [self.in_s, self.out_s]
        self.marks = dict(list(kept.items())[-MARKS_KEPT:])

    def _set_points(self, in_s: float, out_s: float, edge: str = "both") -> None:
        fps = self.asset.fps
        self.in_s = snap(max(in_s, 0.0), fps)
        self.out_s = snap(max(out_s, 0.0), fps)
        if self.asset.duration and abs(out_s - self.asset.duration) < 1e-6:
            self.out_s = round(self.asset.duration, 6)  # the very end is always allowed
        self.in_text, self.out_text = format_tc(self.in_s), format_tc(self.out_s)
        self.field_error = ""
        if edge in ("in", "both"):
            self.in_rev += 1
        if edge in ("out", "both"):
            self.out_rev += 1
        self._keep_marks()

    @rx.event
    def commit_in(self, text: str):
        try:
            value = parse_entry(text, self.asset.fps, self.in_s)
        except ValueError as exc:
            self.field_error = f"In point: {exc}"
            return
        self._set_points(value, self.out_s, "in")
        return EditorState.refresh_trim_plan

    @rx.event
    def commit_out(self, text: str):
        try:
            value = parse_entry(text, self.asset.fps, self.out_s)
        except ValueError as exc:
            self.field_error = f"Out point: {exc}"
            return
        self._set_points(self.in_s, value, "out")
        return EditorState.refresh_trim_plan

    @rx.event
    def js_commit(self, payload: str):
        """The timeline script's commit: {"edge": "in"|"out"|"both", "in": s, "out": s}."""
        try:
            data = json.loads(payload)
            edge = data.get("edge")
            in_s = float(data["in"]) if "in" in data else self.in_s
            out_s = float(data["out"]) if "out" in data else self.out_s
        except (ValueError, TypeError, KeyError, AttributeError):
            return
        if edge in ("in", "out", "both") and self.has_asset:
            self._set_points(in_s, out_s, edge)
            return EditorState.refresh_trim_plan

    @rx.event
    def reset_points(self):
        if self.has_asset:
            self._set_points(0.0, self.asset.duration)
            return EditorState.refresh_trim_plan

    # ---------------------------------------------------------------- job form
    @rx.event
    def set_preset(self, preset_id: str):
        self.preset_id = preset_id
        self.submit_error = ""
        self._prefill_name()
        return EditorState.refresh_trim_plan

    @rx.event
    def set_template(self, template_id: str):
        self.template_id = "" if template_id == NO_TEMPLATE else template_id
        self.submit_error = ""
        self._prefill_name()

    @rx.event
    def play_stream(self, url: str, storyboard: str, title: str):
        """Play a job's streaming package (its playbackUrl) in the player."""
        self.stream_url, self.stream_storyboard, self.stream_title = url, storyboard, title

    @rx.event
    def close_stream(self):
        self.stream_url = self.stream_storyboard = self.stream_title = ""

    @rx.event
    def set_output_name(self, value: str):
        self.output_name = value
        self.output_name_edited = bool(value.strip())

    @rx.event
    async def submit(self):
        if not self.authenticated or self.submitting or self.form_message:
            return
        self.submitting, self.submit_error = True, ""
        yield
        at_end = abs(self.out_s - self.asset.duration) < 1e-6
        try:
            job = await api.create_job(
                self.asset.id, self.preset_id,
                trim_start=self.in_s if self.in_s > 0 else None,
                trim_end=None if at_end else self.out_s,
                output_name=self.output_name.strip(),
                trim_mode=self.trim_mode.upper() if self.selected_preset.keyframe_copy else None,
                template_id=self.template_id,
            )
        except api.ApiError as exc:
            self.submitting, self.submit_error = False, exc.message
            return
        self.submitting = False
        self.output_name_edited = False
        yield rx.toast.success(f"Job {job['id']} queued: {job.get('outputFilename') or self.output_name}")
        for event in await self._announce("job-created"):  # the queue shows it now, not at its next poll
            yield event

    # ---------------------------------------------------------------- trim mode (copy presets)
    @rx.event
    async def set_trim_mode(self, mode: str | list[str]):
        mode = mode if isinstance(mode, str) else (mode[0] if mode else "")
        if mode in ("keyframe", "smart"):
            self.trim_mode = mode
            self.submit_error = ""
            await self._refresh_trim_plan()

    @rx.event
    async def refresh_trim_plan(self):
        """Ask the server (trimPlan) what the chosen mode will do with this selection; sent after
        every change of the points or the preset."""
        await self._refresh_trim_plan()

    async def _refresh_trim_plan(self) -> None:
        if not (self.has_asset and self.selected_preset.keyframe_copy) or self.out_s <= self.in_s:
            self.trim_plan_text = ""
            return
        at_end = abs(self.out_s - self.asset.duration) < 1e-6
        try:
            plan = await api.trim_plan(self.asset.id, self.in_s, None if at_end else self.out_s,
                                       self.trim_mode.upper())
        except api.ApiError as exc:
            self.trim_plan_text = exc.message
            return
        self.trim_plan_text = plan["description"][:1].upper() + plan["description"][1:] + "."
