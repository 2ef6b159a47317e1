"""`create_app(settings)`: the Litestar app serving /graphql, /admin, the job callback, /media, /healthz, /readyz, /metrics,
and the browser sign-in routes under /api/auth (`backend.api.http.login`).

It composes the two halves of this package: `backend.api.graphql` (the strawberry schema and its
Litestar controller) and `backend.api.http` (plain HTTP routes).

Lifespan: bind the catalog (and admin auth) tables to an engine built from
`settings.database_url`, open an asyncpg pool on PostgreSQL (`db_pool`; tests turn it off —
Litestar's test client runs the app on another event loop), open the storages, and when
`run_jobs` start a `backend.jobs.runtime.JobRuntime` and the webhook dispatcher
(`backend.api.webhooks.dispatcher`) in this process. Shutdown reverses it and
gives the tables back to the engine they had before. Every route is behind backend.api.guard
(Host/Origin checks, security headers); `data/` is made private (0700) and the process-wide
FFmpeg limits are set from the settings.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator

from litestar import Litestar
from litestar.datastructures import State

from backend.api.auth import ensure_api_token
from backend.api.graphql.context import CONTEXT_KEY, ApiContext
from backend.api.graphql.graphiql import graphiql_asset
from backend.api.graphql.schema import schema
from backend.api.graphql.view import make_controller
from backend.api.http import media_links
from backend.api.http.admin import admin_mount
from backend.api.http.callback import job_callback
from backend.api.http.health import healthz
from backend.api.http.login import login, login_link, logout
from backend.api.http.media import media_file, package_file
from backend.api.http.metrics import metrics
from backend.api.http.ready import readyz
from backend.api.guard import guard_factory
from backend.api.origins import policy_for, unnamed_wildcard
from backend.api.throttle import LoginThrottle
from backend.api.webhooks.dispatcher import WebhookDispatcher
from backend.catalog import db as catalog_db
from backend.catalog.analysis import run_backfill
from backend.catalog.engine import engine_from_url
from backend.catalog.files import secure_data_dir
from backend.config import Settings
from backend.media import limits
from backend.storage import Storages, open_storages

log = logging.getLogger("mpr.api")

UPLOAD_OVERHEAD = 1 << 20  # multipart headers and the operations/map fields around the file


def create_app(
    settings: Settings,
    *,
    run_jobs: bool = True,
    db_pool: bool | None = None,
    storages: Storages | None = None,
) -> Litestar:
    """The MPR web app. `db_pool` defaults to True on PostgreSQL; `storages` overrides open_storages."""
    secure_data_dir(settings.data_dir)
    limits.configure_from(settings)
    policy = policy_for(settings)
    if warning := unnamed_wildcard(settings):
        log.warning(warning)
    token, _ = ensure_api_token(settings)
    use_pool = settings.is_postgres if db_pool is None else db_pool and settings.is_postgres
    state = State({"settings": settings, "storages": storages or open_storages(settings),
                   "runtime": None, "engine": None, "api_token": token, "media_key": media_links.media_key(token),
                   "login_throttle": LoginThrottle()})

    async def context_getter() -> dict:
        return {CONTEXT_KEY: ApiContext(state.settings, state.storages, state.runtime, media_key=state.media_key)}

    controller = make_controller(
        schema, token=token, context_getter=context_getter, allowed_origins=policy.origins,
        max_body=settings.max_upload_bytes + UPLOAD_OVERHEAD, trusted_proxies=settings.trusted_proxies,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        previous = catalog_db.current_engine()
        engine = engine_from_url(settings.database_url)
        catalog_db.bind_engine(engine)
        state.engine = engine
        runtime = backfill = dispatcher = None
        pool = catalog_db.connection_pool(engine, settings.pool_max_size) if use_pool else contextlib.nullcontext()
        try:
            async with pool:
                try:
                    if run_jobs:
                        from backend.jobs.runtime import JobRuntime

                        runtime = JobRuntime(settings, state.storages)
                        await runtime.start()
                        state.runtime = runtime
                        # measure assets ingested before analysis existed (bounded, resumable)
                        backfill = asyncio.create_task(run_backfill(state.storages), name="mpr-analysis-backfill")
                        # send the webhook outbox (events queued here and by workers; retries)
                        dispatcher = WebhookDispatcher(settings)
                        await dispatcher.start()
                    yield
                finally:
                    if dispatcher is not None:
                        await dispatcher.stop()
                    if backfill is not None:
                        backfill.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await backfill
                    if runtime is not None:
                        state.runtime = None
                        await runtime.stop()
        finally:
            catalog_db.bind_engine(previous)

    return Litestar(
        route_handlers=[controller, job_callback, media_file, package_file, healthz, readyz, metrics, graphiql_asset,
                        login, logout, login_link, admin_mount()],
        lifespan=[lifespan],
        middleware=[guard_factory(settings, policy)],  # Host/Origin checks, security headers
        state=state,
        debug=False,
        logging_config=None,  # keep the process's MPR log format (backend.logs); Litestar's would replace it
    )
