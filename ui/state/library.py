"""Library panel state: the asset list (search, status filter, sort; kept in the URL), selection and
uploads (the folder scan is ui/state/scan.py)."""
from __future__ import annotations

from pathlib import Path

import reflex as rx

from ui import api, view_query
from ui.models import AssetRow, asset_row
from ui.state.base import AppState
from ui.state.editor import EditorState
from ui.statuses import ERROR

UPLOAD_ID = "asset-upload"
LIST_LIMIT = 100  # one page of the list (the API's largest page); "Show N more" adds the next


class LibraryState(AppState):
    assets: list[AssetRow] = []
    total: int = 0
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

    _next_cursor: str = ""  # where the next page of the list starts ("" at the end)

    @rx.var
    def more_text(self) -> str:
        hidden = self.total - len(self.assets)
        return f"{hidden} more" if hidden > 0 else ""

    async def _hear(self, news: str) -> list:
        if news == "signed-in":
            self._from_url()
        if news in ("signed-in", "assets-changed"):
            await self._fetch()
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

    async def _fetch(self, keep: int = 0) -> None:
        """The first page again (as many rows as are shown, at least LIST_LIMIT)."""
        search, status, area, sort = self._list_args()
        try:
            rows, total, cursor = await api.list_assets_upto(search, status, area, max(LIST_LIMIT, keep), sort=sort)
        except api.ApiError as exc:
            self.list_error = exc.message
            return
        self.list_error = ""
        self.assets = [asset_row(r) for r in rows]
        self.total, self._next_cursor = total, cursor or ""

    @rx.event
    async def load_more(self):
        """The next LIST_LIMIT assets, appended (the list pages through any number of assets)."""
        if not self.authenticated or not self._next_cursor:
            return
        search, status, area, sort = self._list_args()
        try:
            rows, total, cursor = await api.list_assets_page(search, status, LIST_LIMIT, area,
                                                             after=self._next_cursor, sort=sort)
        except api.ApiError as exc:
            self.list_error = exc.message
            return
        self.assets = self.assets + [asset_row(r) for r in rows]
        self.total, self._next_cursor = total, cursor or ""

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
