"""jobUpdates over graphql-transport-ws (websockets client against a real uvicorn server)."""
from __future__ import annotations

import asyncio
import json
import shutil

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from api_helpers import AUTH, TOKEN, seed_jobs
from backend.api.app import create_app
from backend.catalog.ingest import ingest_key
from backend.catalog.tables import TranscodeJob
from backend.media.clips import generate_clip

SUBSCRIBE = "subscription($id: ID) { jobUpdates(jobId: $id) { jobId status progress fps speed etaSeconds attempt error } }"


@pytest.fixture(scope="session")
def busy_clip(clips_dir):
    """Long enough that an x265 encode reports progress several times."""
    return generate_clip(clips_dir / "api-busy.mp4", duration=5.0, width=640, height=360, fps=25, gop=25)


async def open_subscription(url: str, variables: dict, payload: dict | None = None, headers: dict | None = None):
    ws = await connect(url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"],
                       additional_headers=headers or {})
    await ws.send(json.dumps({"type": "connection_init", "payload": payload if payload is not None else AUTH}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert ack["type"] == "connection_ack", ack
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": variables}}))
    return ws


async def next_update(ws, timeout: float = 30) -> dict:
    msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    assert msg["type"] == "next", msg
    assert not msg["payload"].get("errors"), msg
    return msg["payload"]["data"]["jobUpdates"]


@pytest.mark.slow
async def test_progress_of_a_running_job(api_settings, storages, busy_clip, presets, live_server):
    shutil.copyfile(busy_clip, api_settings.in_root / "busy.mp4")
    asset = await ingest_key(storages, "busy.mp4", "in")
    server = live_server(create_app(api_settings.with_(workers=1), run_jobs=True, db_pool=False))

    async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=30) as http:
        # a subscription to every job sees the job appear; one to the job itself follows it to the end
        all_jobs = await open_subscription(server.url, {})
        resp = await http.post("/graphql", json={"query": """mutation($input: CreateJobInput!) {
            createJob(input: $input) { id status } }""", "variables": {"input": {
            "sourceId": str(asset.id), "presetId": str(presets["H.265 1080p"])}}})
        job_id = resp.json()["data"]["createJob"]["id"]
        one = await open_subscription(server.url, {"id": job_id})

        updates = []
        while not updates or updates[-1]["status"] not in ("SUCCEEDED", "FAILED"):
            updates.append(await next_update(one, 120))
        assert updates[-1]["status"] == "SUCCEEDED", updates
        running = [u for u in updates if u["status"] == "RUNNING"]
        assert any(0 < u["progress"] < 100 for u in running), updates
        progress = [u["progress"] for u in running]
        assert progress == sorted(progress), "progress never goes back"
        assert all(u["jobId"] == job_id for u in updates)
        assert all(a != b for a, b in zip(updates, updates[1:])), "no repeated updates"

        seen = []
        while "SUCCEEDED" not in seen:
            update = await next_update(all_jobs, 30)
            assert update["jobId"] == job_id
            seen.append(update["status"])
        await one.send(json.dumps({"id": "1", "type": "complete"}))
        await one.close()
        await all_jobs.close()


async def test_updates_from_another_process_arrive_by_polling(api_settings, add_asset, presets, live_server):
    asset = await add_asset()
    job_id, marker_id = await seed_jobs(2, asset["id"], presets["H.264 480p"], statuses=("queued",))
    server = live_server(create_app(api_settings, run_jobs=False, db_pool=False))
    ws = await open_subscription(server.url, {"id": str(job_id)})
    every = await open_subscription(server.url, {})
    first = await next_update(ws, 10)
    assert first["status"] == "QUEUED"  # the current state comes first
    # the all-jobs poll has taken a look once it reports a change made after it started (a marker job)
    await TranscodeJob.update({TranscodeJob.progress: 50.0}).where(TranscodeJob.id == marker_id)
    while (update := await next_update(every, 10)) != {**update, "jobId": str(marker_id), "progress": 50.0}:
        assert update["jobId"] in (str(job_id), str(marker_id)), update

    # what `mpr worker` would write, in this test's process: the server learns it only from the database
    await TranscodeJob.update({TranscodeJob.status: "running", TranscodeJob.progress: 37.5}).where(TranscodeJob.id == job_id)
    update = await next_update(ws, 10)
    assert (update["status"], update["progress"]) == ("RUNNING", 37.5)
    await TranscodeJob.update({TranscodeJob.status: "succeeded", TranscodeJob.progress: 100.0}).where(TranscodeJob.id == job_id)
    assert (await next_update(ws, 10))["status"] == "SUCCEEDED"
    seen = []
    while "SUCCEEDED" not in seen:
        update = await next_update(every, 10)
        assert update["jobId"] == str(job_id)
        seen.append(update["status"])
    await ws.close()
    await every.close()


async def test_subscription_refusals(api_settings, db, live_server):
    server = live_server(create_app(api_settings, run_jobs=False, db_pool=False))
    url = server.url.replace("http", "ws") + "/graphql"
    for payload in ({}, {"Authorization": "Bearer nope"}, {"token": "nope"}):
        async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 10)
            assert info.value.rcvd.code == 4403
    # the token may also come as {"token": ...} or in the handshake header
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": TOKEN}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    ws = await open_subscription(server.url, {"id": "424242"}, payload={}, headers=AUTH)
    msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert msg["type"] in ("error", "next")
    errors = msg["payload"] if msg["type"] == "error" else msg["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    await ws.close()
    # a cross-site page may not open the socket at all: the handshake itself is refused
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, subprotocols=["graphql-transport-ws"], origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403
