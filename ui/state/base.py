"""Root state: who is looking (every tab needs a signed-in user), the page's boot sequence, and
how the panels hear about each other's changes.

Signing in is not an event: the login card is a plain HTML form posting to /api/auth/login, which
sets the HttpOnly session cookie and sends the browser back to `/` (with `?login_error=…` on
failure). `boot` asks the API who this tab is (`api.me`, with the tab's session; see ui/auth.py)
and shows the login card when nobody. Every substate inherits `authenticated`; their handlers do
nothing before it, and the API refuses anyway what the person's role does not allow.

The panels import only downwards (editor imports base; library and details import editor; queue
imports library and editor), and the root imports no panel: it `_announce`s news
("signed-in", "asset-opened", "job-created", "assets-changed") to every panel state of the tab,
and each panel reacts in its own `_hear`.
"""
from __future__ import annotations

import asyncio

import reflex as rx

from ui import api

EDIT_ROLES = ("editor", "admin")  # roles whose edit controls are shown (docs/access-control.md)

LOGIN_ERRORS = {
    "wrong": "Wrong user name or password.",
    "throttled": "Too many attempts; wait a few minutes and try again.",
}


class AppState(rx.State):
    checked: bool = False  # boot has asked the API who this is
    authenticated: bool = False
    username: str = ""
    role: str = ""
    login_error: str = ""

    @rx.var
    def can_edit(self) -> bool:
        """Whether the signed-in person may change things (upload, scan, edit, delete, jobs): a
        viewer sees no such control. The UI only hides them; the API refuses them either way."""
        return self.role in EDIT_ROLES

    @rx.var
    def is_admin(self) -> bool:
        return self.role == "admin"

    async def _hear(self, news: str) -> list:
        """A panel's reaction to `news` (see `_announce`); returns the events it wants sent.
        Each panel overrides this; the root hears nothing."""
        return []

    async def _announce(self, news: str) -> list:
        """Tell every panel state of this tab (each substate of AppState, at any depth) that `news`
        happened; they react concurrently. Returns the events they asked for, in panel order."""
        panels, todo = [], [AppState]
        while todo:
            children = sorted(todo.pop(0).get_substates(), key=lambda cls: cls.get_full_name())
            panels += children
            todo += children
        states = [await self.get_state(cls) for cls in panels]
        replies = await asyncio.gather(*(state._hear(news) for state in states))
        return [event for reply in replies for event in reply]

    async def _load_all(self):
        """Library, presets and the first queue page in one event, fetched concurrently; then the poller."""
        return await self._announce("signed-in")

    @rx.event
    async def boot(self):
        """on_load: ask the API who this tab is; signed in → load the library, presets and queue."""
        error = self.router.url.query_parameters.get("login_error", "")
        try:
            who = await api.me()
        except api.ApiError as exc:
            self.authenticated, self.username, self.role = False, "", ""
            self.login_error = LOGIN_ERRORS.get(error, "") if exc.code == "UNAUTHENTICATED" else exc.message
            self.checked = True
            return
        self.checked, self.login_error = True, ""
        self.authenticated = True
        self.username = (who.get("user") or {}).get("username") or who.get("kind", "")
        self.role = who.get("role", "")
        return await self._load_all()

    @rx.event
    def logout(self):
        """End the session on the server (GET /api/auth/logout clears the cookie and comes back to /)."""
        self.authenticated = False
        return rx.call_script("window.location.assign('/api/auth/logout')")
