"""One port for UI and API: route /graphql, /admin, /api, /media, /healthz, /readyz, /metrics and the
job callback's short path /jobs/{id}/callback to the Litestar app.

Reflex's `api_transformer` wraps its backend ASGI app with `transformer`; requests and websockets
under the API prefixes go to Litestar (a plain path dispatch: a Starlette Mount of Litestar 404s),
everything else to Reflex. `lifespan` is registered with `app.register_lifespan_task` so
Litestar's startup (database, job runtime) runs inside Reflex's lifespan. The Reflex side is
wrapped in backend.api.guard (Host/Origin checks, security headers). This is app wiring:
the states and components never import the backend.

The lifespan runs in the granian worker process that `mpr up` → Reflex started: it puts MPR's log
format on the worker's loggers, and binds the worker's life to its supervisor's
(`PR_SET_PDEATHSIG`, see backend/serve.py), so a killed supervisor never leaves a worker serving.
"""
from __future__ import annotations

import contextlib
import logging
import multiprocessing
import re

from backend.config import Settings

log = logging.getLogger("mpr.ui")

API_PREFIXES = ("/graphql", "/admin", "/api", "/media", "/healthz", "/readyz", "/metrics")
API_PATHS = re.compile(r"/jobs/[0-9]+/callback")  # the callback also answers here (as in the diagram)
_litestar = None
_failure: str | None = None


def is_api_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES) or API_PATHS.fullmatch(path) is not None


def litestar_app():
    """The Litestar app for this process (built once from MPR_* settings), or None if it cannot be."""
    global _litestar, _failure
    if _litestar is None and _failure is None:
        try:
            from backend.api.app import create_app
            from backend.logs import configure_logging

            settings = Settings.from_env()
            configure_logging(settings.log_level, settings.log_format)
            _litestar = create_app(settings, run_jobs=True)
        except Exception as exc:  # the UI still serves; API paths answer 503 with the reason
            _failure = f"{type(exc).__name__}: {exc}"
            log.exception("the API app could not be built")
    return _litestar


async def _unavailable(scope, receive, send):
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1011})
        return
    body = f"API unavailable: {_failure}".encode()
    await send({"type": "http.response.start", "status": 503,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": body})


def guarded_reflex(reflex_asgi, settings: Settings | None = None):
    """Reflex (pages, /_event, /_upload) behind the same Host/Origin checks and security headers
    as the Litestar routes (which carry their own guard)."""
    from backend.api.guard import guard_factory

    return guard_factory(settings or Settings.from_env())(reflex_asgi)


def transformer(reflex_asgi):
    """api_transformer: dispatch by path prefix between Litestar and Reflex."""
    reflex_side = guarded_reflex(reflex_asgi)

    async def dispatch(scope, receive, send):
        if scope["type"] in ("http", "websocket") and is_api_path(scope.get("path", "")):
            app = litestar_app()
            await (app or _unavailable)(scope, receive, send)
            return
        await reflex_side(scope, receive, send)

    return dispatch


def _die_with_supervisor() -> None:
    """In a granian worker (a multiprocessing child of the supervisor): die when the supervisor dies."""
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid:
        from backend.lifeline import bind_to_parent

        bind_to_parent(parent.pid)


@contextlib.asynccontextmanager
async def lifespan():
    """Run Litestar's startup/shutdown (DB binding, job executor) for the life of the server."""
    _die_with_supervisor()
    app = litestar_app()
    if app is None:
        yield
        return
    async with app.lifespan():
        yield
