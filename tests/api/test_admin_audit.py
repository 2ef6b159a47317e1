"""Row edits through piccolo-admin are audited: who created, updated or deleted which row of which
table, over real HTTP against a real server (the admin's own sign-in, CSRF cookie and API)."""
from __future__ import annotations

import httpx
import pytest

from access_helpers import PASSWORD, make_user
from backend.api.app import create_app
from backend.catalog import audit
from backend.catalog.tables import MediaAsset, TranscodeJob, TranscodePreset


@pytest.fixture
def server(api_settings, live_server, db):
    return live_server(create_app(api_settings, run_jobs=False, db_pool=False))


async def admin_client(server, username: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=server.url, follow_redirects=True)
    await http.get("/admin/")
    http.headers["X-CSRFToken"] = http.cookies.get("csrftoken") or ""
    ok = await http.post("/admin/public/login/", json={"username": username, "password": PASSWORD})
    assert ok.status_code == 200, ok.text
    return http


async def admin_events() -> list[dict]:
    return [e for e in reversed(await audit.events(200)) if e["action"].startswith("admin_")
            and e["action"] != "admin_login"]


async def test_admin_row_writes_are_audited(server):
    admin = await make_user("admin")
    asset = await MediaAsset.insert(MediaAsset(filename="a.mp4", storage_key="a.mp4")).returning(MediaAsset.id)
    job = await TranscodeJob.insert(TranscodeJob(source=asset[0]["id"])).returning(TranscodeJob.id)
    job_id = job[0]["id"]
    http = await admin_client(server, admin.username)
    try:
        defaults = (await http.get("/admin/api/tables/transcode_preset/new/")).json()  # what the admin's form sends
        defaults.pop("id", None)
        created = await http.post("/admin/api/tables/transcode_preset/",
                                  json={**defaults, "name": "from the admin", "kind": "video", "container": "mp4",
                                        "video_codec": "libx264"})
        assert created.status_code in (200, 201), created.text
        preset_id = (await TranscodePreset.select(TranscodePreset.id).where(
            TranscodePreset.name == "from the admin").first())["id"]
        edited = await http.patch(f"/admin/api/tables/transcode_job/{job_id}/",
                                  json={"preset_snapshot": '{"name": "x", "speed_preset": "fast -i /etc/passwd"}'})
        assert edited.status_code == 200, edited.text
        deleted = await http.delete(f"/admin/api/tables/transcode_preset/{preset_id}/")
        assert deleted.status_code in (200, 204), deleted.text
    finally:
        await http.aclose()

    events = await admin_events()
    got = [(e["action"], e["object_type"], e["object_id"], e["actor"], e["user_id"], e["ok"]) for e in events]
    assert got == [
        ("admin_create", "transcode_preset", str(preset_id), f"user:{admin.username}", admin.id, True),
        ("admin_update", "transcode_job", str(job_id), f"user:{admin.username}", admin.id, True),
        ("admin_delete", "transcode_preset", str(preset_id), f"user:{admin.username}", admin.id, True),
    ], got
    assert "columns: preset_snapshot" in events[1]["detail"] and "/etc/passwd" not in events[1]["detail"]
    assert "via /admin" in events[0]["detail"]


async def test_writes_without_an_admin_session_change_and_record_nothing(server):
    asset = await MediaAsset.insert(MediaAsset(filename="b.mp4", storage_key="b.mp4")).returning(MediaAsset.id)
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.get("/admin/")
        http.headers["X-CSRFToken"] = http.cookies.get("csrftoken") or ""
        resp = await http.delete(f"/admin/api/tables/media_asset/{asset[0]['id']}/")
        assert resp.status_code in (401, 403), resp.text
    assert await MediaAsset.exists().where(MediaAsset.id == asset[0]["id"])
    assert await admin_events() == []
