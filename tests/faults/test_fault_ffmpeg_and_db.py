"""Faults under a running job, against one real app on PostgreSQL:
FFmpeg SIGKILLed from outside (the job fails with a reason a person can read, and a retry
succeeds), and the app's PostgreSQL connections terminated several times mid-job (the app
reconnects and the job's final state is recorded).
"""
from __future__ import annotations

import asyncio
import time

import httpx
import psutil
import pytest

from backend.catalog.tables import JobTransition

from mpr_app import TOKEN, bind, running_periods, terminate_backends

pytestmark = pytest.mark.slow


async def wait_running(app, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = await app.job(job_id)
        if job["status"] == "RUNNING" and job["progress"] > 0:
            return job
        assert job["status"] in ("QUEUED", "RUNNING"), job
        assert time.monotonic() < deadline, (job, app.log())
        await asyncio.sleep(0.1)


def ffmpeg_for(app, job_id: str) -> psutil.Process:
    mine = [p for p in app.ffmpeg_children() if f".partial-{job_id}-" in " ".join(p.cmdline())]
    assert len(mine) == 1, mine
    return mine[0]


async def test_ffmpeg_killed_from_outside_fails_readably_then_retry_succeeds(pg_app):
    app = pg_app
    source = (await app.scan())["medium.mp4"]
    job = await app.create_job(source["id"], (await app.preset_ids())["H.264 720p"], outputName="killed-ffmpeg")
    await wait_running(app, job["id"])
    ffmpeg_for(app, job["id"]).kill()

    failed = await app.wait_job(job["id"], timeout=60)
    assert failed["status"] == "FAILED", failed
    error = failed["error"]
    assert "killed" in error and "SIGKILL" in error, error
    assert "Traceback" not in error and "\n" not in error and len(error) < 300, error
    assert failed["history"][-1]["reason"] == error
    assert not list(app.layout.out_root.glob(".partial-*")) and not list(app.layout.out_root.glob("killed-ffmpeg*"))

    retried = await app.gql('mutation($id: ID!) { retryJob(id: $id) { status attempt } }', {"id": job["id"]})
    assert retried["retryJob"] == {"status": "QUEUED", "attempt": 2}
    done = await app.wait_job(job["id"], timeout=120)
    assert done["status"] == "SUCCEEDED" and done["attempt"] == 2 and done["error"] == "", done
    assert done["outputAsset"]["duration"] > 19 and done["outputAsset"]["storageKey"] == "killed-ffmpeg.mp4"


def job_status(app, job_id: str) -> str | None:
    """The job's status over HTTP, or None when the app could not answer this time."""
    try:
        resp = httpx.post(f"{app.url}/graphql", json={"query": '{ job(id: "%s") { status } }' % job_id},
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        return resp.json()["data"]["job"]["status"]
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return None


async def test_postgres_connections_terminated_during_a_job(pg_app):
    app = pg_app
    dbname = app.database_url.rsplit("/", 1)[1]
    source = (await app.scan())["medium.mp4"]
    job = await app.create_job(source["id"], (await app.preset_ids())["H.264 720p"], outputName="pg-terminated")
    await wait_running(app, job["id"])

    # terminate every connection of the app's database, again and again, while the job encodes
    killed, rounds = 0, 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        killed += await terminate_backends(dbname)
        rounds += 1
        await asyncio.sleep(0.15)
        if rounds % 5 == 0 and (await asyncio.to_thread(job_status, app, job["id"])) != "RUNNING":
            break
    assert rounds >= 5 and killed >= rounds, (killed, rounds)

    # the app answers again (the first request after a storm may meet a dead pooled connection)
    deadline = time.monotonic() + 30
    while True:
        try:
            current = await app.job(job["id"])
            break
        except (AssertionError, httpx.HTTPError):
            assert time.monotonic() < deadline, app.log()
            await asyncio.sleep(0.5)
    assert current["status"] in ("RUNNING", "SUCCEEDED"), (current["error"], app.log())

    done = await app.wait_job(job["id"], timeout=120)
    assert done["status"] == "SUCCEEDED", done
    assert done["attempt"] == 1 and done["outputAsset"]["duration"] > 19
    assert [(h["fromStatus"], h["toStatus"]) for h in done["history"]] == [
        ("", "queued"), ("queued", "running"), ("running", "succeeded")]
    assert httpx.get(f"{app.url}/healthz", timeout=5).json()["status"] == "ok"
    assert app.alive

    bind(app.database_url)
    history = await JobTransition.select().where(JobTransition.job == int(job["id"])).order_by(JobTransition.id)
    assert len(running_periods(history)) == 1
