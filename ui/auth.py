"""Each tab acts as its own signed-in person: before every event, the tab's session secret (the
HttpOnly `mpr_session` cookie sent with its websocket handshake; it never reaches the page's
JavaScript) becomes the credential of the GraphQL calls that event makes (`ui.api.use_session`)."""
from __future__ import annotations

from reflex.middleware import Middleware

from ui import api


class SessionMiddleware(Middleware):
    async def preprocess(self, app, state, event):
        headers = getattr(getattr(state, "router", None), "headers", None)
        api.use_session(api.session_from_cookies(getattr(headers, "cookie", "")))
        return None
