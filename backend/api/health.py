"""GET /healthz: 200 JSON naming the database kind, storage kind, executor and ffmpeg version; 503 if the database does not answer."""
from __future__ import annotations

from litestar import Request, Response, get

from backend.api.queries import database_kind, ffmpeg_version_async
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
        body["status"] = "database unavailable"
        body["error"] = type(exc).__name__
        return Response(body, status_code=503)
    return Response(body)
