"""Reflex app module (app_name "ui"): the one timeline page, with the Litestar API on the same port.

`mount.transformer` routes /graphql, /admin, /api, /media, /healthz to Litestar; everything else
is Reflex. The page boots through `AppState.boot` (login check, then library, presets, queue).
"""
import reflex as rx

from ui import mount
from ui.auth import SessionMiddleware
from ui.components.layout import index
from ui.components.library import ROW_STYLE
from ui.components.theme import GLOBAL_STYLE
from ui.state.base import AppState

app = rx.App(
    style={**GLOBAL_STYLE, **ROW_STYLE},
    api_transformer=mount.transformer,
    head_components=[rx.el.meta(name="color-scheme", content="dark")],
)
app.add_middleware(SessionMiddleware())  # each tab's GraphQL calls carry that tab's session
app.register_lifespan_task(mount.lifespan)
app.add_page(index, route="/", title="MPR — timeline", on_load=AppState.boot)
