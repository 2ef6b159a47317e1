"""Queue state: one page of jobs kept live by a per-tab background poller, cancel/retry/play.

The poller asks GraphQL for the visible page only (cursor pagination, PAGE_SIZE rows), about
once a second while anything is queued or running and every few seconds otherwise, so 500 jobs
cost the browser no more than 25. It also refreshes the library when a job finished (its output
became an asset) and stops when the tab's websocket is gone.
"""
from __future__ import annotations

import asyncio
import logging
import time

import reflex as rx

from ui import api
from ui.links import expires_within
from ui.models import JobRow, job_row
from ui.state.base import AppState
from ui.state.editor import EditorState
from ui.state.library import LibraryState
from ui.statuses import ACTIVE, CANCELLED, ERROR, FAILED, PENDING, QUEUED, RUNNING, SUCCEEDED

log = logging.getLogger("mpr.ui")
PAGE_SIZE = 25
FAST, SLOW = 1.0, 3.0
RENEW_LINKS_S = 1800.0  # fetch the open asset's URLs again when they have less than this left
FILTERS = {"all": None, "active": list(ACTIVE), "done": [SUCCEEDED], "failed": [FAILED], "cancelled": [CANCELLED]}
FINISHED = {"all": None, "done": [SUCCEEDED], "failed": [FAILED], "cancelled": [CANCELLED]}  # "Clear" per filter


def client_connected(token: str) -> bool:
    """Whether the tab with this client token still has a websocket on this worker."""
    try:
        from reflex.utils.prerequisites import get_and_validate_app

        namespace = get_and_validate_app().app.event_namespace
    except Exception:
        return True
    if namespace is None:
        return True
    return token in namespace.token_to_sid


class QueueState(AppState):
    jobs: list[JobRow] = []
    total: int = 0
    page: int = 0
    has_next: bool = False
    filter: str = "all"
    error: str = ""
    busy_id: str = ""
    confirm: str = ""  # "" | "cancel" (a running job) | "clear" (the finished jobs of the filter)
    confirm_id: str = ""
    active_count: int = 0
    status_text: str = ""
    _cursors: list[str] = []
    _polling: bool = False
    _ticks: int = 0
    _statuses: dict[str, str] = {}

    @rx.var
    def page_text(self) -> str:
        if not self.total:
            return "no jobs"
        first = self.page * PAGE_SIZE + 1
        last = min(first + len(self.jobs) - 1, self.total)
        return f"{first}–{last} of {self.total}"

    @rx.var
    def has_prev(self) -> bool:
        return self.page > 0

    # ---------------------------------------------------------------- fetching
    def _query_args(self) -> tuple[str | None, list[str] | None]:
        after = self._cursors[self.page - 1] if 0 < self.page <= len(self._cursors) else None
        return after, FILTERS.get(self.filter)

    async def _fetch_page(self, after, statuses):
        return await api.list_jobs(PAGE_SIZE, after, statuses)

    def _apply_page(self, result) -> bool:
        """Store a fetched page; True when a job on it just finished (outputs appeared)."""
        rows, total, end_cursor, has_next = result
        self.jobs = [job_row(r) for r in rows]
        self.total, self.has_next, self.error = total, has_next, ""
        if len(self._cursors) <= self.page:
            self._cursors = self._cursors + [""] * (self.page + 1 - len(self._cursors))
        cursors = list(self._cursors)
        cursors[self.page] = end_cursor or ""
        self._cursors = cursors
        finished = False
        statuses = dict(self._statuses)
        for job in self.jobs:
            before = statuses.get(job.id)
            if before and before != job.status and job.status in (SUCCEEDED, FAILED):
                finished = True
            statuses[job.id] = job.status
        self._statuses = {j.id: j.status for j in self.jobs}
        return finished

    async def _hear(self, news: str) -> list:
        if news == "signed-in":
            await self._refresh(with_status=True)
            return [QueueState.start]
        if news == "job-created":
            await self._refresh()
        return []

    @rx.event
    async def refresh_now(self):
        if not self.authenticated:
            return
        await self._refresh()

    async def _refresh(self, with_status: bool = False) -> None:
        after, statuses = self._query_args()
        try:
            result = await self._fetch_page(after, statuses)
            status = await api.system_status() if with_status else None
        except api.ApiError as exc:
            self.error = exc.message
            return
        self._apply_page(result)
        if status is not None:
            self._apply_status(status)

    def _apply_status(self, status: dict) -> None:
        counts = {c["status"].lower(): c["count"] for c in status["jobCounts"]}
        self.active_count = counts.get(QUEUED, 0) + counts.get(RUNNING, 0)
        workers = status["workers"]
        self.status_text = (f"{status['executor']} executor · {workers} worker{'s' if workers != 1 else ''} · "
                            f"{counts.get(RUNNING, 0)} running · {counts.get(QUEUED, 0)} queued")

    @rx.event
    def start(self):
        """on_load: one poller per tab (a reload reuses the running one)."""
        if self.authenticated and not self._polling:
            return QueueState.poll

    @rx.event(background=True)
    async def poll(self):
        async with self:
            if self._polling or not self.authenticated:
                return
            self._polling = True
            token = self.router.session.client_token
        try:
            await asyncio.sleep(FAST)  # boot has just fetched the first page
            while client_connected(token):
                async with self:
                    if not self.authenticated:
                        break
                    after, statuses = self._query_args()
                    page = self.page
                    self._ticks += 1
                    tick = self._ticks
                    library = await self.get_state(LibraryState)
                    lib_query = library._window_query()  # the rows the list holds, where it holds them
                    lib_pending = any(a.status == PENDING for a in library.assets)
                    editor = await self.get_state(EditorState)
                    open_pending = editor.has_asset and editor.asset.status != ERROR and (
                        editor.asset.status == PENDING
                        or (not editor.asset.filmstrip_url and editor.asset.width > 0))
                    open_id = editor.asset.id
                    # the player's link runs out after hours (signed /media or presigned S3): renew it first
                    open_expiring = editor.has_asset and expires_within(editor.asset.media_url, RENEW_LINKS_S, time.time())
                try:
                    # the header's counts every tick, fetched with the rows, so the two agree
                    result, status = await asyncio.gather(self._fetch_page(after, statuses), api.system_status())
                except api.ApiError as exc:
                    async with self:
                        self.error = exc.message
                    await asyncio.sleep(SLOW)
                    continue
                async with self:
                    if self.page != page or self._query_args()[1] != statuses:
                        continue  # the person paged or filtered meanwhile: fetch again
                    finished = self._apply_page(result)
                    self._apply_status(status)
                    active = self.active_count or any(j.can_cancel for j in self.jobs)
                refresh_library = finished or lib_pending or tick % 5 == 0  # a scan refreshes it itself (ui/state/scan.py)
                if refresh_library:
                    search, status, area, sort, after, want, _ = lib_query
                    try:
                        rows, total, cursor = await api.list_assets_upto(search, status, area, want, sort=sort,
                                                                         after=after or None)
                    except api.ApiError:
                        rows = None
                    if rows is not None:
                        async with self:
                            library = await self.get_state(LibraryState)
                            library._apply_window(lib_query, rows, total, cursor)
                if open_expiring:
                    yield EditorState.refresh_asset
                if open_pending and open_id and tick % 2 == 0:
                    try:
                        row = await api.get_asset(open_id)
                    except api.ApiError:
                        row = None
                    if row and row.get("filmstripUrl"):
                        yield EditorState.refresh_asset
                await asyncio.sleep(FAST if active else SLOW)
        finally:
            async with self:
                self._polling = False
            log.debug("queue poller of tab %s… stopped", token[:8])

    # ---------------------------------------------------------------- paging
    @rx.event
    async def set_filter(self, value: str | list[str]):
        self.filter = value if isinstance(value, str) else (value[0] if value else "all")
        self.page, self._cursors = 0, []
        await self.refresh_now()

    @rx.event
    async def next_page(self):
        if self.has_next:
            self.page += 1
            await self.refresh_now()

    @rx.event
    async def prev_page(self):
        if self.page > 0:
            self.page -= 1
            await self.refresh_now()

    # ---------------------------------------------------------------- actions
    async def _act(self, job_id: str, action, verb: str):
        if not self.authenticated:
            return None
        self.busy_id = job_id
        try:
            await action(job_id)
        except api.ApiError as exc:
            self.busy_id = ""
            return rx.toast.error(f"Could not {verb} job {job_id}: {exc.message}")
        self.busy_id = ""
        await self.refresh_now()
        return None

    @rx.event
    async def cancel(self, job_id: str):
        """A queued job is cancelled at once; a running one asks first (its work so far is lost)."""
        job = next((j for j in self.jobs if j.id == job_id), None)
        if job is not None and job.status == RUNNING:
            self.confirm, self.confirm_id = "cancel", job_id
            return None
        return await self._act(job_id, api.cancel_job, "cancel")

    @rx.event
    def ask_clear(self):
        self.confirm, self.confirm_id = "clear", ""

    @rx.event
    def set_confirm_open(self, value: bool):
        if not value:
            self.confirm, self.confirm_id = "", ""

    @rx.event
    async def confirmed(self):
        action, job_id = self.confirm, self.confirm_id
        self.confirm, self.confirm_id = "", ""
        if action == "cancel" and job_id:
            return await self._act(job_id, api.cancel_job, "cancel")
        if action == "clear" and self.authenticated:
            try:
                result = await api.delete_finished_jobs(FINISHED.get(self.filter))
            except api.ApiError as exc:
                return rx.toast.error(f"Could not delete the finished jobs: {exc.message}")
            self.page, self._cursors = 0, []
            await self.refresh_now()
            return rx.toast.success(f"Deleted {result['count']} finished job{'s' if result['count'] != 1 else ''}.")
        return None

    @rx.var
    def confirm_title(self) -> str:
        if self.confirm == "cancel":
            return f"Cancel running job #{self.confirm_id}?"
        return "Delete the finished jobs?" if self.confirm == "clear" else ""

    @rx.var
    def confirm_text(self) -> str:
        if self.confirm == "cancel":
            job = next((j for j in self.jobs if j.id == self.confirm_id), None)
            done = f" It is {job.progress_text} done;" if job is not None else ""
            return f"FFmpeg stops and the partial output is removed.{done} a retry starts from the beginning."
        if self.confirm == "clear":
            which = {"all": "succeeded, failed and cancelled", "done": "succeeded", "failed": "failed",
                     "cancelled": "cancelled"}.get(self.filter, "finished")
            return (f"Every {which} job is removed from the queue with its history. Queued and running jobs "
                    "stay, and outputs stay in the library.")
        return ""

    @rx.var
    def can_clear(self) -> bool:
        return self.filter in FINISHED

    @rx.event
    async def delete(self, job_id: str):
        return await self._act(job_id, api.delete_job, "delete")

    @rx.event
    async def retry(self, job_id: str):
        return await self._act(job_id, api.retry_job, "retry")

    @rx.event
    def play_stream(self, url: str, storyboard: str, title: str):
        if url:
            return EditorState.play_stream(url, storyboard, title)

    @rx.event
    def play_output(self, asset_id: str):
        if asset_id:
            return LibraryState.select(asset_id)
