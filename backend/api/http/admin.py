"""/admin: piccolo-admin over the catalog tables (session login with piccolo's BaseUser).

Mounted with copy_scope so the admin sees paths relative to /admin; a bare /admin redirects to
/admin/ (the admin's assets are relative and 404 otherwise). The admin app (FastAPI + pydantic
models, ~1 s to build) is built on the first /admin request and shared by every app in the process.
"""
from __future__ import annotations

import functools

from litestar import asgi
from litestar.types import Receive, Scope, Send
from piccolo_admin.endpoints import TableConfig, create_admin

from backend.catalog.tables import JobTransition, MediaAsset, OutputTemplate, TranscodeJob, TranscodePreset


@functools.cache
def build_admin():
    return create_admin(
        tables=[
            TableConfig(MediaAsset, visible_columns=[MediaAsset.id, MediaAsset.filename, MediaAsset.status,
                                                     MediaAsset.storage_area, MediaAsset.duration, MediaAsset.size]),
            TableConfig(TranscodeJob, visible_columns=[TranscodeJob.id, TranscodeJob.source, TranscodeJob.status,
                                                       TranscodeJob.progress, TranscodeJob.output_filename,
                                                       TranscodeJob.attempt, TranscodeJob.created_at]),
            TranscodePreset,
            TableConfig(OutputTemplate, visible_columns=[OutputTemplate.id, OutputTemplate.name, OutputTemplate.builtin,
                                                         OutputTemplate.packaging, OutputTemplate.segment_seconds]),
            JobTransition,
        ],
        site_name="MPR admin",
    )


def admin_mount():
    @asgi("/admin", is_mount=True, copy_scope=True)
    async def admin(scope: Scope, receive: Receive, send: Send) -> None:
        requested = (scope.get("raw_path") or b"").split(b"?")[0]
        if scope["type"] == "http" and scope.get("path", "") in ("", "/") and requested.endswith(b"/admin"):
            await send({"type": "http.response.start", "status": 308,
                        "headers": [(b"location", b"/admin/"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await build_admin()(scope, receive, send)

    return admin
