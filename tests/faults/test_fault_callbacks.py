"""Callbacks from the AWS path duplicated, reordered, replayed and sent concurrently to a real running
app (POST /api/jobs/{id}/callback, signed with backend.signing): the final state is the true one,
each terminal report takes effect once, stale attempts change nothing, the app answers every
delivery without a server error.

Jobs are made with the aws executor name in the app's database (the app itself runs the local
executor, which leaves them alone) and moved to `running` the way the AWS executor's dispatch does.
"""
from __future__ import annotations

import asyncio
import json
import random
import shutil

import httpx
import pytest

from backend import signing
from backend.catalog.tables import JobTransition, MediaAsset, TranscodeJob
from backend.config import Settings
from backend.jobs import lifecycle, service
from backend.storage import open_storages

from mpr_app import SECRET, bind, finish_app, start_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def cb_app(request, tmp_path_factory, fault_clips):
    app = await start_app(tmp_path_factory.mktemp(f"cb-{request.param}"), request.param,
                          {"small.mp4": fault_clips["small"]})
    try:
        yield app
    finally:
        await finish_app(app)


class Sender:
    def __init__(self, app, client: httpx.AsyncClient):
        self.app, self.client = app, client
        self.answers: list[tuple[int, dict, dict]] = []  # (job_id, payload, reply)
        self.nonces: dict[tuple[int, int], str] = {}  # (job_id, attempt) → that execution's nonce
        self.current: dict[int, int] = {}  # job_id → the attempt dispatched last

    async def dispatch(self, job_id: int, attempt: int) -> None:
        """What the AWS executor's dispatch does: move to running, store a fresh execution nonce."""
        assert await lifecycle.transition(job_id, lifecycle.RUNNING, "dispatched to Step Functions (test)")
        nonce = signing.new_nonce()
        await TranscodeJob.update({TranscodeJob.callback_nonce: nonce}).where(TranscodeJob.id == job_id)
        self.nonces[(job_id, attempt)], self.current[job_id] = nonce, attempt

    async def send(self, job_id: int, payload: dict) -> dict:
        """One callback signed as the execution of `payload`'s attempt signs it: 200, or 409 when
        that attempt is no longer the dispatched one (its nonce is stale)."""
        body = json.dumps(payload).encode()
        nonce = self.nonces[(job_id, payload["attempt"])]
        resp = await self.client.post(
            f"{self.app.url}/api/jobs/{job_id}/callback", content=body,
            headers={"Content-Type": "application/json", **signing.signed_headers(SECRET, job_id, nonce, body)},
        )
        expected = 200 if payload["attempt"] == self.current[job_id] else 409
        assert resp.status_code == expected, (payload, resp.status_code, resp.text)
        reply = resp.json()
        self.answers.append((job_id, payload, reply))
        return reply

    async def burst(self, job_id: int, payloads: list[dict]) -> list[dict]:
        return list(await asyncio.gather(*(self.send(job_id, p) for p in payloads)))


def running(attempt, progress):
    return {"attempt": attempt, "status": "running", "progress": progress}


def failed(attempt, error):
    return {"attempt": attempt, "status": "failed", "error": error, "log_tail": "…\n" + error}


async def test_callbacks_duplicated_reordered_replayed(cb_app, fault_clips):
    app = cb_app
    bind(app.database_url)
    settings = Settings.from_env().with_(media_root=app.media_root, executor="aws")
    storages = open_storages(settings)
    source = (await app.scan())["small.mp4"]
    preset = (await app.preset_ids())["H.264 480p"]

    async def aws_job(name: str) -> dict:
        row = await service.create_job(settings, storages, source_id=int(source["id"]), preset_id=int(preset),
                                       output_name=name)
        await s.dispatch(row["id"], 1)
        return row

    def succeeded(attempt, key):
        shutil.copyfile(fault_clips["small"], app.layout.out_root / key)  # what the Lambda uploaded
        return {"attempt": attempt, "status": "succeeded", "progress": 100,
                "output": {"key": key, "size": (app.layout.out_root / key).stat().st_size, "duration": 2.0},
                "log_tail": "done"}

    rng = random.Random(8)
    async with httpx.AsyncClient(timeout=30) as client:
        s = Sender(app, client)
        a, b, c = await aws_job("cb-a"), await aws_job("cb-b"), await aws_job("cb-c")

        # A: truly 20 % → 60 % → succeeded. Progress arrives out of order, success 6 times at once.
        assert (await s.send(a["id"], running(1, 60)))["changed"] is True
        assert (await s.send(a["id"], running(1, 20)))["changed"] is False
        done_a = succeeded(1, a["output_key"])
        replies = await s.burst(a["id"], [done_a] * 6)
        assert sum(r["changed"] for r in replies) == 1, replies
        replay = [running(1, 20), running(1, 60), done_a, failed(1, "late timeout report")]
        rng.shuffle(replay)
        for p in replay:
            assert (await s.send(a["id"], p))["changed"] is False, p

        # C: truly 30 % → failed. The failure arrives 4 times at once, then old progress.
        await s.send(c["id"], running(1, 30))
        replies = await s.burst(c["id"], [failed(1, "encoder exploded")] * 4)
        assert sum(r["changed"] for r in replies) == 1, replies
        assert (await s.send(c["id"], running(1, 80)))["changed"] is False

        # B: attempt 1 fails (its progress arrives after the failure), the user retries, attempt 2
        # succeeds while attempt 1's reports are replayed.
        await s.send(b["id"], failed(1, "Lambda ran out of time"))
        assert (await s.send(b["id"], running(1, 50)))["changed"] is False
        retried = await app.gql('mutation($id: ID!) { retryJob(id: $id) { status attempt } }', {"id": str(b["id"])})
        assert retried["retryJob"] == {"status": "QUEUED", "attempt": 2}
        await s.dispatch(b["id"], 2)
        stale = [running(1, 70), failed(1, "Lambda ran out of time"), succeeded(1, b["output_key"])]
        (app.layout.out_root / b["output_key"]).unlink()  # attempt 1 never really wrote it
        for p in stale:  # attempt 1's execution signs with its own nonce: refused (409), told to stop
            reply = await s.send(b["id"], p)
            assert reply["changed"] is False and reply["stop"] is True and "current attempt" in reply["message"], reply
        await s.send(b["id"], running(2, 40))
        done_b = succeeded(2, b["output_key"])
        mixed = [done_b] * 3 + [running(2, 10), running(1, 99)]
        rng.shuffle(mixed)
        replies = await s.burst(b["id"], mixed)
        assert sum(r["changed"] for r in replies) == 1, replies

    # the true final states
    ja, jb, jc = [await app.job(str(j["id"])) for j in (a, b, c)]
    assert (ja["status"], ja["attempt"], ja["progress"]) == ("SUCCEEDED", 1, 100.0)
    assert (jb["status"], jb["attempt"], jb["progress"]) == ("SUCCEEDED", 2, 100.0)
    assert (jc["status"], jc["error"], jc["progress"]) == ("FAILED", "encoder exploded", 30.0)
    for job, output_key in ((ja, a["output_key"]), (jb, b["output_key"])):
        assert job["outputAsset"]["storageKey"] == output_key and job["outputAsset"]["duration"] > 1.9
        assert await MediaAsset.count().where((MediaAsset.storage_area == "out")
                                              & (MediaAsset.storage_key == output_key)) == 1
    assert [(h["fromStatus"], h["toStatus"], h["attempt"]) for h in jb["history"]] == [
        ("", "queued", 1), ("queued", "running", 1), ("running", "failed", 1), ("failed", "queued", 2),
        ("queued", "running", 2), ("running", "succeeded", 2)]
    for job in (ja, jc):
        assert [h["toStatus"] for h in job["history"]] == ["queued", "running", job["status"].lower()]
    assert await JobTransition.count().where(JobTransition.to_status == "succeeded") == 2
    assert app.alive and httpx.get(f"{app.url}/healthz", timeout=5).status_code == 200
    assert "Traceback" not in app.log(), app.log()
