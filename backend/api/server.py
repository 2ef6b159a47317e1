"""`serve_api(settings)`: run the MPR web app with uvicorn at settings.host:settings.port (`mpr api`).

Stopping: the first SIGTERM/Ctrl-C closes the listener and stops job claims at once; the app's
shutdown then gives running jobs MPR_SHUTDOWN_GRACE seconds and re-queues the rest
(`backend.jobs.shutdown`); the process exits 0. A second signal cuts the grace short, but the app's
shutdown still runs (uvicorn's own force-exit would skip it and leave jobs `running`). Uvicorn's
loggers go to the root logger, so its lines have MPR's log format.
"""
from __future__ import annotations

import asyncio
import logging

import uvicorn

from backend.api.app import create_app
from backend.api.auth import ensure_admin_user, ensure_api_token
from backend.config import Settings
from backend.jobs import shutdown

log = logging.getLogger("mpr.api")


def announce_credentials(settings: Settings) -> None:
    """Print the API token the first time it is generated, and a generated admin password once."""
    token, created = ensure_api_token(settings)
    if created:
        print(f"MPR API token (kept in {settings.data_dir / 'api-token'}): {token}", flush=True)


async def _ensure_admin(settings: Settings) -> None:
    from backend.catalog import db as catalog_db
    from backend.catalog.engine import engine_from_url

    engine = engine_from_url(settings.database_url)
    previous = catalog_db.current_engine()
    catalog_db.bind_engine(engine)
    try:
        password = await ensure_admin_user(settings)
    except Exception as exc:  # tables missing (run `mpr migrate`) must not stop the API
        log.warning("could not check the admin user: %s", exc)
        return
    finally:
        catalog_db.bind_engine(previous)
    if password:
        print(f"MPR admin user created: admin / {password} (shown once; change it in /admin)", flush=True)


CONNECTIONS_GRACE_SECONDS = 5  # open connections (subscriptions) may delay the app's shutdown this long


class GracefulServer(uvicorn.Server):
    def handle_exit(self, sig, frame) -> None:
        # not recorded in _captured_signals: uvicorn would raise it again after a clean stop (exit 143)
        if self.should_exit:
            shutdown.hurry()
            return
        shutdown.request_stop()
        self.should_exit = True


def serve_api(settings: Settings, *, run_jobs: bool = True, **uvicorn_options) -> None:
    announce_credentials(settings)
    asyncio.run(_ensure_admin(settings))
    app = create_app(settings, run_jobs=run_jobs)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,
        ws="websockets-sansio",
        timeout_graceful_shutdown=CONNECTIONS_GRACE_SECONDS,
        **uvicorn_options,
    )
    GracefulServer(config).run()
