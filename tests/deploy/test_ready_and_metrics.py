"""/readyz and /metrics against the app in Litestar's test client, on SQLite and PostgreSQL:
each readiness check fails on its own with its reason; the metrics add up to what the tables hold.
"""
from __future__ import annotations

import datetime as dt
import shutil

import pytest
from litestar.testing import AsyncTestClient

from backend import signing
from backend.api.http import ready
from backend.api.app import create_app
from backend.catalog.tables import MediaAsset, TranscodeJob
from backend.config import Settings

from tcp_forwarder import free_port


@pytest.fixture
async def app_client(settings, db):
    app = create_app(settings.with_(database_url=db), run_jobs=False, db_pool=False)
    async with AsyncTestClient(app=app) as client:
        client.app = app
        yield client


async def test_ready_when_everything_answers(app_client):
    resp = await app_client.get("/readyz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ready" and "reasons" not in body
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["executor"]["detail"] == "no executor in this process"
    assert body["checks"]["storage"]["detail"] == "write+delete ok in in, out, thumbs"
    assert resp.headers["cache-control"] == "no-store"
    probes = [p for root in ("in", "out", "thumbs") for p in (app_client.app.state.settings.media_root / root).rglob("*")
              if p.is_file()]
    assert probes == [], "the probe objects are deleted again"


def _reasons(resp) -> list[str]:
    assert resp.status_code == 503, resp.text
    body = resp.json()
    assert body["status"] == "not ready"
    return body["reasons"]


async def test_ffmpeg_that_does_not_run(app_client, monkeypatch, tmp_path):
    monkeypatch.setenv("MPR_FFMPEG", str(tmp_path / "no-such-ffmpeg"))
    assert _reasons(await app_client.get("/readyz")) == [
        f"ffmpeg: BinaryNotFound: MPR_FFMPEG={str(tmp_path / 'no-such-ffmpeg')!r} is not an executable file"]
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setenv("MPR_FFMPEG", str(broken))
    assert _reasons(await app_client.get("/readyz")) == ["ffmpeg: RuntimeError: ffmpeg -version exited with 3"]
    monkeypatch.delenv("MPR_FFMPEG")
    assert (await app_client.get("/readyz")).status_code == 200


async def test_storage_that_cannot_be_written(app_client):
    in_root = app_client.app.state.settings.in_root
    shutil.rmtree(in_root)
    in_root.write_text("a file where the input folder should be")
    try:
        reasons = _reasons(await app_client.get("/readyz"))
        assert len(reasons) == 1 and reasons[0].startswith("storage: "), reasons
    finally:
        in_root.unlink()
        in_root.mkdir()
    assert (await app_client.get("/readyz")).status_code == 200


async def test_executor_that_stopped(app_client):
    class DeadRuntime:
        alive = False
        settings = Settings(executor="local")

    app_client.app.state.runtime = DeadRuntime()
    try:
        assert _reasons(await app_client.get("/readyz")) == ["executor: RuntimeError: local executor loops are not running"]
        metrics = (await app_client.get("/metrics")).text
        assert 'mpr_executor_alive{executor="local"} 0' in metrics
    finally:
        app_client.app.state.runtime = None


async def test_database_that_refuses(settings):
    """Nothing listens where the database should be: 503 naming the database, quickly."""
    dead = settings.with_(database_url=f"postgres://postgres@127.0.0.1:{free_port()}/nothing")
    app = create_app(dead, run_jobs=False, db_pool=False)
    async with AsyncTestClient(app=app) as client:
        resp = await client.get("/readyz")
        reasons = _reasons(resp)
        assert len(reasons) == 1 and reasons[0].startswith("database: "), reasons
        assert resp.json()["checks"]["database"]["ms"] < ready.DB_TIMEOUT * 1000 + 500
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200  # the scrape still works, without the catalog figures
        assert "mpr_database_up 0" in metrics.text and "mpr_jobs{" not in metrics.text


async def test_check_timeout_is_a_reason():
    import asyncio

    async def slow() -> str:
        await asyncio.sleep(5)
        return "never"

    result = await ready.run_check(slow, 0.05)
    assert not result.ok and result.detail == "timed out" and result.ms < 1000


def parse_metrics(text: str) -> dict[str, float]:
    values, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            assert name not in typed, f"{name} declared twice"
            typed.add(name)
        elif line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            assert key.split("{")[0] in typed, f"{key} has no TYPE line before it"
            values[key] = float(value)
    return values


async def test_metrics_add_up_to_the_tables(app_client, db):
    src = await MediaAsset.insert(
        MediaAsset(filename="a.mp4", storage_area="in", storage_key="a.mp4", size=1000, status="ready"),
        MediaAsset(filename="b.mp4", storage_area="in", storage_key="b.mp4", size=234, status="error"),
        MediaAsset(filename="a-out.mp4", storage_area="out", storage_key="a-out.mp4", size=500, status="ready"),
    ).returning(MediaAsset.id)
    t0 = dt.datetime(2026, 1, 2, 3, 4, 5, 250000, tzinfo=dt.timezone.utc)
    rows = [
        ("queued", None, None), ("queued", None, None), ("running", t0, None),
        ("succeeded", t0, t0 + dt.timedelta(seconds=10.5)), ("succeeded", t0, t0 + dt.timedelta(seconds=2)),
        ("failed", t0, t0 + dt.timedelta(seconds=99)),  # not counted: only succeeded jobs encode output
        ("cancelled", None, None),
    ]
    await TranscodeJob.insert(*(TranscodeJob(source=src[0]["id"], status=s, started_at=a, finished_at=b)
                                for s, a, b in rows))
    resp = await app_client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    values = parse_metrics(resp.text)
    assert {k: v for k, v in values.items() if k.startswith("mpr_jobs{")} == {
        'mpr_jobs{status="queued"}': 2, 'mpr_jobs{status="running"}': 1, 'mpr_jobs{status="succeeded"}': 2,
        'mpr_jobs{status="failed"}': 1, 'mpr_jobs{status="cancelled"}': 1}
    assert values["mpr_queue_depth"] == 2
    assert values["mpr_encode_seconds_total"] == pytest.approx(12.5, abs=0.01)
    assert values["mpr_bytes_in_total"] == 1234 and values["mpr_bytes_out_total"] == 500
    assert values['mpr_assets{area="in"}'] == 2 and values['mpr_assets{area="out"}'] == 1
    assert values["mpr_database_up"] == 1
    assert "mpr_executor_alive" not in resp.text  # no executor in this process


async def test_refused_callbacks_are_counted_by_status(app_client):
    async def counts() -> dict[str, float]:
        values = parse_metrics((await app_client.get("/metrics")).text)
        return {k: v for k, v in values.items() if k.startswith("mpr_callback_failures_total")}

    secret = app_client.app.state.settings.callback_secret
    before = await counts()
    assert (await app_client.post("/api/jobs/5/callback", content=b"{}")).status_code == 401
    assert (await app_client.post("/api/jobs/5/callback", content=b"{}",
                                  headers={signing.HEADER: "ab" * 32})).status_code == 401
    body = b"not json"
    assert (await app_client.post("/api/jobs/5/callback", content=body,
                                  headers=signing.signed_headers(secret, 5, "n", body))).status_code == 400
    body = b'{"attempt": 1, "status": "running", "progress": 5}'
    assert (await app_client.post("/api/jobs/999999/callback", content=body,
                                  headers=signing.signed_headers(secret, 999999, "n", body))).status_code == 404
    after = await counts()
    key = 'mpr_callback_failures_total{code="%s"}'
    assert after[key % 401] - before.get(key % 401, 0) == 2
    assert after[key % 400] - before.get(key % 400, 0) == 1
    assert after[key % 404] - before.get(key % 404, 0) == 1
