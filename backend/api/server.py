"""`serve_api(settings)`: run the MPR web app with uvicorn at settings.host:settings.port (`mpr api`)."""
from __future__ import annotations

import asyncio
import logging

import uvicorn

from backend.api.app import create_app
from backend.api.auth import ensure_admin_user, ensure_api_token
from backend.config import Settings

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


def serve_api(settings: Settings, *, run_jobs: bool = True, **uvicorn_options) -> None:
    announce_credentials(settings)
    asyncio.run(_ensure_admin(settings))
    app = create_app(settings, run_jobs=run_jobs)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        ws="websockets-sansio",
        **uvicorn_options,
    )
