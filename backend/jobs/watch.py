"""The watched input folder: files that land in local input storage (`media/in`) are registered,
and the rules applied, without anyone calling a scan.

`InputWatcher` follows the folder with `watchfiles` (inotify on Linux) and reacts per key:

- **added / modified**: the key is *settling* until its size and mtime have not changed for
  `MPR_WATCH_SETTLE_SECONDS` (and no event came for it meanwhile), so a file still being copied
  in is never probed half-written; then `backend.jobs.intake.ingest_and_apply` registers it
  (unchanged files are left alone) and queues the matching rules' jobs.
- **temporary names** (`.name.XyZ12` from rsync, `*.part`, …: `catalog.ingest.skip_reason`) are
  ignored; the rename to the final name is an "added" of that name.
- **deleted** (or renamed away): once the key has settled and the file is really gone, its asset
  becomes `missing` (`catalog.ingest.mark_missing`); a file that comes back is registered again.
- **a folder** moved in: each file inside it settles and is registered the same way.

On start, and every `MPR_WATCH_RECONCILE_SECONDS`, a reconciling pass lists the whole folder:
files added or changed while MPR was down (or events lost to an inotify queue overflow) settle
and are registered like watched ones, and assets whose files vanished are marked missing. Started by the app's lifespan
(`backend.api.app`) when `MPR_WATCH_INPUT` is on and storage is local.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path

from watchfiles import Change, awatch

from backend.catalog.ingest import input_rows, mark_missing, needs_ingest, skip_reason
from backend.catalog.statuses import MISSING
from backend.catalog.tables import MediaAsset
from backend.config import Settings
from backend.jobs.intake import ingest_and_apply
from backend.storage import Storages

log = logging.getLogger("mpr.jobs.watch")

POLL_MIN = 0.05  # seconds between stats of a settling file, at least …
POLL_MAX = 0.5  # … and at most
MAX_SETTLING = 4096  # keys settling at once; beyond that a reconciling pass picks the rest up
HANDLING = 4  # settled keys registered at once (as `scan`'s concurrency; probes also wait for ingest slots)
RETRIES = 3  # a key whose handling failed (a locked SQLite file, a lost connection) settles again, this often
RETRY_DELAY = 1.0
OVERFLOW_CHECK = 5.0  # seconds between looks at whether a reconciling pass is due


def _signature(path: Path) -> tuple[int, int, bool] | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, os.path.isdir(path)


class InputWatcher:
    """Watches `settings.in_root`; `start()` / `stop()` from the app's lifespan."""

    def __init__(self, settings: Settings, storages: Storages):
        self.settings = settings
        self.storages = storages
        self.root = settings.in_root
        self.settle = max(0.0, float(settings.watch_settle_seconds))
        self.poll = min(POLL_MAX, max(POLL_MIN, self.settle / 4))
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._settling: dict[str, asyncio.Task] = {}
        self._last_event: dict[str, float] = {}
        self._handling = asyncio.Semaphore(HANDLING)
        self._failures: dict[str, int] = {}
        self._added: dict[str, bool] = {}  # keys with an "added" event since they last settled
        self._overflow = False
        self.ready = asyncio.Event()  # set once the watch is armed (tests wait for it)
        self.handled = 0  # keys settled and handled (registered, unchanged, missing)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._task = asyncio.create_task(self._run(), name="mpr-input-watch")

    async def stop(self) -> None:
        self._stop.set()
        tasks = [t for t in (self._task, *self._settling.values()) if t is not None]
        for t in tasks:
            if t is not self._task:
                t.cancel()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t

    # ------------------------------------------------------------------ the loop
    async def _run(self) -> None:
        reconcile = asyncio.create_task(self._reconcile_loop(), name="mpr-input-reconcile")
        try:
            while not self._stop.is_set():
                try:
                    await self._watch()
                except asyncio.CancelledError:
                    raise
                except Exception:  # the folder vanished, inotify limits, …: say so, try again
                    log.exception("watching %s failed; retrying in 5 s", self.root)
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), timeout=5)
                    self.root.mkdir(parents=True, exist_ok=True)
        finally:
            reconcile.cancel()
            with contextlib.suppress(BaseException):
                await reconcile

    async def _watch(self) -> None:
        watching = awatch(self.root, stop_event=self._stop, watch_filter=None, debounce=400, step=50,
                          rust_timeout=1000, yield_on_timeout=True, recursive=True)
        self.ready.set()
        async for changes in watching:
            for change, raw in changes:
                self._on_change(change, Path(raw))

    def _key(self, path: Path) -> str | None:
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return None
        key = rel.as_posix()
        return None if key in ("", ".") else key

    def _on_change(self, change: Change, path: Path) -> None:
        key = self._key(path)
        if key is None or skip_reason(key):  # temp names (rsync's .x.AbC123, *.part), hidden files
            return
        task = self._settling.get(key)
        if (task is None or task.done()) and len(self._settling) >= MAX_SETTLING:
            self._overflow = True  # the reconciling pass picks it up
            return
        self._last_event[key] = time.monotonic()
        if change == Change.added:
            self._added[key] = True
        if task is not None and not task.done():
            return  # it is settling already; the new event restarts its quiet period
        self._settling[key] = asyncio.create_task(self._settle(key), name=f"mpr-watch:{key[:60]}")

    # ------------------------------------------------------------------ one key
    async def _settle(self, key: str) -> None:
        path = self.root / key
        try:
            sig = await asyncio.to_thread(_signature, path)
            stable_since = time.monotonic()
            while True:
                await asyncio.sleep(self.poll)
                now_sig = await asyncio.to_thread(_signature, path)
                now = time.monotonic()
                if now_sig != sig:
                    sig, stable_since = now_sig, now
                quiet_since = max(stable_since, self._last_event.get(key, 0.0))
                if now - quiet_since >= self.settle:
                    break
            async with self._handling:
                await self._handle(key, sig)
            self._failures.pop(key, None)
        except asyncio.CancelledError:
            raise
        except Exception:
            failures = self._failures[key] = self._failures.get(key, 0) + 1
            if failures <= RETRIES:
                log.warning("watch: handling %s failed (try %d), trying again", key, failures, exc_info=True)
                asyncio.get_running_loop().call_later(RETRY_DELAY * failures, self._retry, key)
            else:
                self._failures.pop(key, None)
                log.exception("watch: handling %s failed %d times; the next reconciling pass tries again",
                              key, failures)
        finally:
            self._settling.pop(key, None)
            self._last_event.pop(key, None)
            self._added.pop(key, None)

    def _retry(self, key: str) -> None:
        if not self._stop.is_set():
            self._on_change(Change.modified, self.root / key)

    async def _handle(self, key: str, sig: tuple[int, int, bool] | None) -> None:
        self.handled += 1
        if sig is None:
            gone = await mark_missing(key)
            if gone is not None:
                log.info("watch: %s is gone; asset %s marked missing", key, gone)
            await self._mark_missing_under(key + "/")  # a folder removed or moved away
            return
        if sig[2]:  # a folder appeared (moved in, or made and filled): its new files settle
            if self._added.pop(key, False):
                await self._settle_listing(key + "/")
            return
        asset, fired = await ingest_and_apply(self.settings, self.storages, key)
        if asset is not None:
            log.info("watch: %s → asset %s (%s), %d rule(s) fired", key, asset["id"], asset["status"],
                     sum(1 for f in fired if f.new))

    async def _mark_missing_under(self, prefix: str) -> None:
        rows = await MediaAsset.select(MediaAsset.storage_key).where(
            (MediaAsset.storage_area == "in") & (MediaAsset.status != MISSING)
            & MediaAsset.storage_key.like(prefix.replace("%", r"\%").replace("_", r"\_") + "%"))
        for r in rows:
            if await asyncio.to_thread(_signature, self.root / r["storage_key"]) is None:
                await mark_missing(r["storage_key"])

    # ------------------------------------------------------------------ reconciling
    async def reconcile(self) -> None:
        """List the whole folder: files new or changed since their rows were written settle and are
        registered like any watched file (one still being copied is not probed half-written);
        assets whose files vanished are marked missing."""
        self._overflow = False
        listed, rows = await self._settle_listing("")
        for key, row in rows.items():
            if row["status"] != MISSING and key not in listed and key not in self._settling:
                if await self.storages.input.stat(key) is None:
                    await mark_missing(key)

    async def _settle_listing(self, prefix: str) -> tuple[set[str], dict[str, dict]]:
        """Every listed file under `prefix` that is new or changed since its row settles; returns
        (the listed keys, the input rows by key)."""
        objs = await self.storages.input.list(prefix)
        rows = await input_rows()
        for obj in objs:
            row = rows.get(obj.key)
            if row is None or needs_ingest(row, obj):
                self._on_change(Change.modified, self.root / obj.key)
        return {o.key for o in objs}, rows

    async def _reconcile_loop(self) -> None:
        every = self.settings.watch_reconcile_seconds
        last = None
        while not self._stop.is_set():
            due = last is None or (every > 0 and time.monotonic() - last >= every)
            if due or (self._overflow and len(self._settling) < MAX_SETTLING // 2):  # drain an overflow soon
                last = time.monotonic()
                try:
                    await self.reconcile()
                except Exception:
                    log.exception("watch: reconciling %s failed", self.root)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=OVERFLOW_CHECK)
