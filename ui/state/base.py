"""Root state: who is looking (login when bound beyond loopback) and the page's boot sequence.

Every substate inherits `authenticated`; their handlers do nothing for a visitor who has not
logged in, so the GraphQL token the server holds is never used on a stranger's behalf.
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

    async def _load_all(self):
        """Library, presets and the first queue page in one event, fetched concurrently; then the poller."""
        from ui.state.editor import EditorState
        from ui.state.library import LibraryState
        from ui.state.queue import QueueState

        library = await self.get_state(LibraryState)
        editor = await self.get_state(EditorState)
        queue = await self.get_state(QueueState)
        _, preset_problem, _ = await asyncio.gather(
            library._fetch(), editor._fetch_presets(), queue._refresh(with_status=True))
        events = [QueueState.start]
        if preset_problem:
            events.append(rx.toast.error(preset_problem))
        return events

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
