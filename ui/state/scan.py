"""Folder scan state: the Scan button starts a scan on the server (GraphQL `startMediaScan`) that runs
in the background there; this tab polls its progress (`mediaScan`) and shows "n of N probed" live,
refreshes the library as assets land, and lists each file the scan could not use with its reason.

No request waits on the whole scan (a scan of hundreds of files takes minutes), so none times out.
A poll that fails (a restart, a dropped connection) is retried; only many failures in a row end the
watch, with the API's own message.
"""
from __future__ import annotations

import asyncio
import time

import reflex as rx

from ui import api
from ui.state.base import AppState

POLL_S = 0.5
REFRESH_S = 1.0  # the library is fetched again at most this often while assets land
GIVE_UP_AFTER = 20  # failed polls in a row
ERRORS_SHOWN = 50


class ScanState(AppState):
    scanning: bool = False
    scan_phase: str = ""  # listing | probing | applying | done | failed (the server's state)
    scan_probed: int = 0
    scan_total: int = 0
    scan_errors: list[str] = []  # "file: reason" of the last scan's unusable files
    scan_error_count: int = 0

    @rx.var
    def scan_text(self) -> str:
        if self.scan_phase == "listing" or (self.scanning and not self.scan_phase):
            return "Listing the media folder…"
        if self.scan_phase == "applying":
            return f"{self.scan_probed} of {self.scan_total} probed · applying rules…"
        return f"{self.scan_probed} of {self.scan_total} probed"

    @rx.var
    def scan_pct(self) -> int:
        return int(self.scan_probed * 100 / self.scan_total) if self.scan_total else 0

    def _show(self, run: dict) -> None:
        self.scan_phase = run.get("state") or ""
        self.scan_probed, self.scan_total = int(run.get("probed") or 0), int(run.get("total") or 0)
        self.scan_error_count = int(run.get("errors") or 0)
        self.scan_errors = [f"{e['key']}: {e['message']}" for e in (run.get("fileErrors") or [])[:ERRORS_SHOWN]]

    @rx.event
    def dismiss_scan_errors(self):
        self.scan_errors, self.scan_error_count = [], 0

    @rx.event(background=True)
    async def scan(self):
        """Start (or join) the server's scan, then follow it until it is done."""
        async with self:
            if not self.authenticated or self.scanning:
                return
            self.scanning, self.scan_phase, self.scan_probed, self.scan_total = True, "", 0, 0
            self.scan_errors, self.scan_error_count = [], 0
        try:
            run = await api.start_scan()
        except api.ApiError as exc:
            async with self:
                self.scanning = False
            yield rx.toast.error(f"Scan not started: {exc.message}")
            return
        async with self:
            self._show(run)
        scan_id, landed, refreshed, failures = run["id"], 0, 0.0, 0
        while run.get("state") not in ("done", "failed"):
            await asyncio.sleep(POLL_S)
            try:
                fresh = await api.media_scan(scan_id)
            except api.ApiError as exc:
                failures += 1
                if failures < GIVE_UP_AFTER:
                    continue
                async with self:
                    self.scanning = False
                yield rx.toast.error(f"Lost track of the scan: {exc.message}")
                return
            failures = 0
            if fresh is None:  # the server restarted: the files it probed are registered all the same
                async with self:
                    self.scanning = False
                    await self._announce("assets-changed")
                yield rx.toast.warning("The server no longer knows this scan (it restarted?); scan again to finish.")
                return
            run = fresh
            async with self:
                self._show(run)
                if run["probed"] > landed and time.monotonic() - refreshed >= REFRESH_S:
                    landed, refreshed = run["probed"], time.monotonic()
                    await self._announce("assets-changed")  # the library shows what has landed so far
        async with self:
            self.scanning = False
            self._show(run)
            await self._announce("assets-changed")
        if run["state"] == "failed":
            yield rx.toast.error(f"Scan failed: {run.get('error') or 'see the server log'}")
            return
        summary = f"Scan: {run['added']} added, {run['updated']} updated, {run['unchanged']} unchanged"
        if run.get("errors"):
            yield rx.toast.warning(f"{summary}, {run['errors']} not usable (listed under Scan).")
        else:
            yield rx.toast.success(summary + ".")
