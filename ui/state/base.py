"""Root state: who is looking (login when bound beyond loopback), the page's boot sequence, and
how the panels hear about each other's changes.

Every substate inherits `authenticated`; their handlers do nothing for a visitor who has not
logged in, so the GraphQL token the server holds is never used on a stranger's behalf.

The panels import only downwards (editor imports base; library and details import editor; queue
imports library and editor), and the root imports no panel: it `_announce`s news
("signed-in", "asset-opened", "job-created", "assets-changed") to every panel state of the tab,
and each panel reacts in its own `_hear`.
"""
from __future__ import annotations

import asyncio

import reflex as rx

from ui import api, session

COOKIE = "mpr_ui_session"


class AppState(rx.State):
    login_required: bool = False
    authenticated: bool = False
    username: str = ""
    login_error: str = ""
    logging_in: bool = False
    session_cookie: str = rx.Cookie("", name=COOKIE, max_age=session.SESSION_SECONDS, same_site="strict")

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
        """on_load: decide whether a login is needed, then load the library, presets and queue."""
        self.login_required = api.login_required()
        if not self.login_required:
            self.authenticated, self.username = True, ""
        else:
            user = session.verify(self.session_cookie, api.token())
            self.authenticated, self.username = user is not None, user or ""
        if self.authenticated:
            return await self._load_all()

    @rx.event
    async def login(self, form: dict):
        username = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        if not username or not password:
            self.login_error = "Enter your user name and password."
            return
        self.logging_in = True
        yield
        try:
            result = await api.login(username, password)
        except api.ApiError as exc:
            self.login_error = exc.message
            result = None
        finally:
            self.logging_in = False
        if not result:
            return
        if not result.get("ok"):
            self.login_error = result.get("message") or "Wrong user name or password."
            return
        self.login_error = ""
        self.authenticated, self.username = True, result.get("username") or username
        self.session_cookie = session.issue(self.username, api.token())
        for event in await self._load_all():
            yield event

    @rx.event
    def logout(self):
        # asked afresh, not read from the tab: a script that skips boot leaves login_required False
        self.login_required = api.login_required()
        self.session_cookie = ""
        self.authenticated = not self.login_required
        self.username = ""
