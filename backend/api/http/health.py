"""GET /healthz (liveness): 200 JSON naming the database kind, storage kind, executor and ffmpeg version.

It answers 200 while the process serves, even when the database is away (then `status` says so):
restarting the app would not bring PostgreSQL back. Readiness, with 503, is /readyz.
"""
from __future__ import annotations

from litestar import Request, Response, get

from backend.api.system import database_kind, ffmpeg_version_async
from backend.catalog.tables import TranscodeJob


@get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> Response:
    settings = request.app.state.settings
    body = {
        "status": "ok",
        "database": database_kind(),
        "storage": settings.storage,
        "executor": settings.executor,
        "ffmpeg": await ffmpeg_version_async(),
        "jobs_running_here": request.app.state.runtime is not None,
    }
    try:
        await TranscodeJob.raw("SELECT 1")
    except Exception as exc:  # report, do not crash: this is what a health check is for
        body["status"] = "degraded: database unavailable"
        body["error"] = type(exc).__name__
    return Response(body)
