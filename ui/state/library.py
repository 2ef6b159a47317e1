"""Library panel state: the asset list (search, status filter, sort; kept in the URL), selection
and uploads (the folder scan is ui/state/scan.py).

The list scrolls through any number of assets as a window of at most WINDOW_PAGES pages: when its
end (or start) scrolls into view, ui/components/library_scroll.js asks for the next (previous)
page, and the page farthest away is dropped, its rows replaced by a spacer of the same height
(every row is ROW_PITCH px), so the page holds a bounded number of rows at any scroll position.
Each page's start cursor is kept, so scrolling back fetches the pages above again."""
from __future__ import annotations

import json
from pathlib import Path

import reflex as rx

from ui import api, view_query
from ui.models import AssetRow, asset_row
from ui.state.base import AppState
from ui.state.editor import EditorState
from ui.statuses import ERROR

UPLOAD_ID = "asset-upload"
LIST_LIMIT = 100  # one page of the list (the API's largest page); scrolling to the end adds the next
WINDOW_PAGES = 3  # the most pages the list holds; one more drops the farthest (a bounded DOM)
ROW_HEIGHT = 66  # px of one row (ui/components/library.py sets it)
ROW_PITCH = ROW_HEIGHT + 2  # px from one row's top to the next (the list's 2 px gap)
PAGE_PX = LIST_LIMIT * ROW_PITCH  # px of one page of rows (library_scroll.js finds pages by it)


class LibraryState(AppState):
    assets: list[AssetRow] = []  # the window: the rows from list position window_start on
    total: int = 0
    window_start: int = 0  # the list position of assets[0], a multiple of LIST_LIMIT
    has_more: bool = False  # rows after the window (the next page's cursor is known)
    generation: int = 0  # counts lists from the top (a new search, filter or sort): the scroll goes back up
    search: str = ""
    status_filter: str = "all"
    area_filter: str = "in"  # in = sources, out = outputs, all
    sort: str = view_query.DEFAULT_SORT  # an AssetSort value in lower case (ui/view_query.py)
    selected_id: str = ""
    loading: bool = False
    list_error: str = ""
    uploading: bool = False
    upload_pct: int = 0
    upload_phase: str = ""
    upload_error: str = ""

    _next_cursor: str = ""  # where the page after the window starts ("" at the end)
    _page_cursors: list[str] = [""]  # [k]: the cursor page k starts after ("": the first page)
    _window_version: int = 0  # counts window moves: a refresh fetched before one is dropped

    @rx.var
    def more_text(self) -> str:
        if not self.has_more:
            return ""
        hidden = self.total - self.window_start - len(self.assets)
        return f"{hidden} more" if hidden > 0 else "more"

    @rx.var
    def window_page(self) -> int:
        return self.window_start // LIST_LIMIT

    @rx.var
    def top_pad(self) -> str:
        """The height of the rows above the window (dropped or not fetched yet)."""
        return f"{max(0, self.window_start * ROW_PITCH - 2)}px"  # the list's gap follows it

    @rx.var
    def count_text(self) -> str:
        """"3 assets" when the list holds them all, else the rows it holds: "301–600 of 100000"."""
        shown = len(self.assets)
        if self.window_start == 0 and not self.has_more and shown >= self.total:
            return f"{self.total} assets"
        first = self.window_start + 1 if shown else self.window_start
        return f"{first}–{self.window_start + shown} of {self.total}"

    async def _hear(self, news: str) -> list:
        if news == "signed-in":
            self._from_url()
            await self._fetch()
        elif news == "assets-changed":
            await self._refresh()
        return []

    def _list_args(self) -> tuple[str, str, str, str]:
        """(search, status, area, sort) as the API takes them ("" for no filter / the default order)."""
        return (self.search, "" if self.status_filter == "all" else self.status_filter,
                "" if self.area_filter == "all" else self.area_filter, self.sort)

    def _from_url(self) -> None:
        """The list's search, filters and sort from the page's query string (a reload or a shared
        link restores them). The URL is the truth: a key it lacks, or a value outside the known
        set, means the default."""
        query = {**view_query.DEFAULTS, **view_query.read(self.router.url.query_parameters)}
        self.search, self.status_filter = query["q"], query["status"]
        self.area_filter, self.sort = query["area"], query["sort"]

    def _to_url(self):
        """Write the list's search, filters and sort into the address bar (replaceState: no history
        entry per keystroke)."""
        return rx.call_script(view_query.replace_state_js(
            view_query.write(self.search, self.status_filter, self.area_filter, self.sort)))

    def _set_window(self, start: int, rows: list[AssetRow], total: int, next_cursor: str) -> None:
        self.window_start, self.assets, self.total = start, rows, total
        self._next_cursor, self.has_more = next_cursor, bool(next_cursor)
        self._window_version += 1

    async def _fetch(self) -> None:
        """The first page, from the top (a new search, filter or sort)."""
        search, status, area, sort = self._list_args()
        try:
            rows, total, cursor = await api.list_assets_page(search, status, LIST_LIMIT, area, sort=sort)
        except api.ApiError as exc:
            self.list_error = exc.message
            return
        self.list_error = ""
        self._page_cursors = [""]
        self.generation += 1
        self._set_window(0, [asset_row(r) for r in rows], total, cursor or "")

    def _window_query(self) -> tuple:
        """What `_refresh` fetches, for callers that fetch outside the state's lock (the queue
        poller): (search, status, area, sort, after, how many rows, window version)."""
        page = self.window_start // LIST_LIMIT
        after = self._page_cursors[page] if page < len(self._page_cursors) else ""
        pages = max(1, -(-len(self.assets) // LIST_LIMIT))  # whole pages: the window stays aligned
        return (*self._list_args(), after, pages * LIST_LIMIT, self._window_version)

    def _apply_window(self, query: tuple, rows: list[dict], total: int, cursor: str | None) -> None:
        """The window's rows fetched again by `query`, unless the list moved or changed order meanwhile."""
        if query[-1] != self._window_version or query[:4] != self._list_args():
            return
        self.list_error = ""
        held = [asset_row(r) for r in rows]
        if held == self.assets and total == self.total and (cursor or "") == self._next_cursor:
            return  # nothing changed: no rows go to the browser again (the poller asks every few seconds)
        self._set_window(self.window_start, held, total, cursor or "")

    async def _refresh(self) -> None:
        """The rows the list holds, fetched again where they are (assets landed or changed)."""
        query = self._window_query()
        search, status, area, sort, after, want, _ = query
        if self.window_start and not after:  # no cursor for this page (cannot happen): from the top
            await self._fetch()
            return
        try:
            rows, total, cursor = await api.list_assets_upto(search, status, area, want, sort=sort,
                                                             after=after or None)
        except api.ApiError as exc:
            self.list_error = exc.message
            return
        self._apply_window(query, rows, total, cursor)

    @rx.event
    async def load_more(self):
        """The next LIST_LIMIT assets, appended; past WINDOW_PAGES pages the first is dropped."""
        if not self.authenticated or not self._next_cursor:
            return
        search, status, area, sort = self._list_args()
        after = self._next_cursor
        try:
            rows, total, cursor = await api.list_assets_page(search, status, LIST_LIMIT, area, after=after, sort=sort)
        except api.ApiError as exc:
            self.list_error = exc.message
            return
        page = (self.window_start + len(self.assets)) // LIST_LIMIT  # the page just fetched
        cursors = self._page_cursors[:page] + [""] * (page - len(self._page_cursors))
        self._page_cursors = cursors + [after]
        start, held = self.window_start, self.assets + [asset_row(r) for r in rows]
        if len(held) > WINDOW_PAGES * LIST_LIMIT:
            start, held = start + LIST_LIMIT, held[LIST_LIMIT:]
        self._set_window(start, held, total, cursor or "")

    @rx.event
    async def show_page(self, value: str):
        """Scrolled far above the window (a drag of the scrollbar, a long fling): the window jumps to
        the page in view, `{"page": k}` from library_scroll.js, fetched from its kept cursor; the
        rows below it go (scrolling down fetches them again)."""
        try:
            page = int(json.loads(value)["page"])
        except (ValueError, TypeError, KeyError):
            return
        if not self.authenticated or not 0 <= page < self.window_start // LIST_LIMIT - 1:
            return
        after = self._page_cursors[page] if page < len(self._page_cursors) else ""
        if page and not after:
            return
        got = await self._full_page(after)
        if got is not None:
            rows, total, cursor = got
            self._set_window(page * LIST_LIMIT, [asset_row(r) for r in rows], total, cursor or "")

    async def _full_page(self, after: str) -> tuple[list[dict], int, str | None] | None:
        """The LIST_LIMIT rows from `after` (a kept page cursor); None when the fetch failed (the
        error is shown) or came back short: the list shrank above the window, so its positions are
        gone and the list starts again from the top."""
        search, status, area, sort = self._list_args()
        try:
            rows, total, cursor = await api.list_assets_page(search, status, LIST_LIMIT, area, after=after or None,
                                                             sort=sort)
        except api.ApiError as exc:
            self.list_error = exc.message
            return None
        if len(rows) != LIST_LIMIT:
            await self._fetch()
            return None
        return rows, total, cursor

    @rx.event
    async def load_previous(self):
        """The page above the window, prepended; past WINDOW_PAGES pages the last is dropped."""
        if not self.authenticated or self.window_start == 0:
            return
        page = self.window_start // LIST_LIMIT - 1
        after = self._page_cursors[page] if page < len(self._page_cursors) else ""
        if page and not after:
            await self._fetch()
            return
        got = await self._full_page(after)
        if got is None:
            return
        rows, total, _ = got
        held, next_cursor = [asset_row(r) for r in rows] + self.assets, self._next_cursor
        if len(held) > WINDOW_PAGES * LIST_LIMIT:
            held = held[:WINDOW_PAGES * LIST_LIMIT]
            next_cursor = self._page_cursors[page + WINDOW_PAGES]
        self._set_window(self.window_start - LIST_LIMIT, held, total, next_cursor)

    @rx.event
    async def load(self):
        if not self.authenticated:
            return
        self.loading = True
        yield
        await self._fetch()
        self.loading = False

    @rx.event
    async def set_search(self, value: str):
        self.search = value[:view_query.MAX_SEARCH]
        if self.authenticated:
            await self._fetch()
            return self._to_url()

    @rx.event
    async def set_status_filter(self, value: str):
        if value not in view_query.STATUSES:
            return
        self.status_filter = value
        if self.authenticated:
            await self._fetch()
            return self._to_url()

    @rx.event
    async def set_sort(self, value: str):
        if value not in view_query.SORTS:
            return
        self.sort = value
        if self.authenticated:
            await self._fetch()
            return self._to_url()

    @rx.event
    async def set_area_filter(self, value: str | list[str]):
        value = value if isinstance(value, str) else (value[0] if value else "in")
        if value not in view_query.AREAS:
            return
        self.area_filter = value
        if self.authenticated:
            await self._fetch()
            return self._to_url()

    @rx.event
    def select(self, asset_id: str):
        if not self.authenticated:
            return
        self.selected_id = asset_id
        return EditorState.open_asset(asset_id)

    @rx.event
    def upload_progress(self, progress: dict):
        """Bytes sent so far (the browser reports them while they travel): the bar shows from the
        first byte, not only once the file has arrived."""
        pct = int(round(float(progress.get("progress", 0)) * 100))
        if pct >= 100:
            # the last report can arrive after handle_upload has finished: it changes nothing then
            if self.uploading:
                self.upload_pct, self.upload_phase = 100, "Registering"
            return
        if not self.uploading:  # the first bytes of a new upload
            self.uploading, self.upload_error = True, ""
        self.upload_pct, self.upload_phase = pct, "Uploading"

    @rx.event
    async def handle_upload(self, files: list[rx.UploadFile]):
        """Files arrive here through Reflex's upload route, then go to GraphQL uploadAsset."""
        if not self.authenticated or not files:
            return
        self.uploading, self.upload_error = True, ""
        self.upload_phase, self.upload_pct = "Registering", 100
        yield
        last_ok = ""
        for upload in files:
            name = Path(upload.filename or "upload.bin").name
            try:
                await upload.seek(0)
                asset = await api.upload_asset(upload.file, name)  # streamed from Reflex's spool file
            except api.ApiError as exc:
                self.upload_error = f"{name}: {exc.message}"
                continue
            if (asset.get("status") or "").lower() == ERROR:
                self.upload_error = f"{name}: {asset.get('errorMessage') or 'not usable media'}"
            else:
                last_ok = str(asset["id"])
        self.uploading, self.upload_phase, self.upload_pct = False, "", 0
        await self._fetch()
        if self.upload_error:
            yield rx.toast.error(f"Upload refused — {self.upload_error}")
        elif last_ok:
            self.selected_id = last_ok
            yield rx.toast.success("Upload registered.")
            yield EditorState.open_asset(last_ok)

    @rx.event
    def dismiss_upload_error(self):
        self.upload_error = ""
