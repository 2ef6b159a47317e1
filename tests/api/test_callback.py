"""POST /api/jobs/{id}/callback: HMAC-signed, idempotent, stale attempts ignored."""
from __future__ import annotations

import json
import shutil

from api_helpers import seed_jobs
from backend import signing
from backend.catalog.tables import JobTransition, MediaAsset, TranscodeJob

SECRET = "test-callback-secret"


async def post(client, job_id, payload, *, secret=SECRET, signature=None, sign_as=None):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if signature is None and secret is not None:
        signature = signing.sign_body(secret, sign_as if sign_as is not None else job_id, body)
    if signature is not None:
        headers[signing.HEADER] = signature
    return await client.post(f"/api/jobs/{job_id}/callback", content=body, headers=headers)


async def job_state(job_id):
    return await TranscodeJob.select(TranscodeJob.status, TranscodeJob.progress, TranscodeJob.attempt,
                                     TranscodeJob.error, TranscodeJob.output_asset).where(TranscodeJob.id == job_id).first()


async def running_job(add_asset, presets) -> int:
    asset = await add_asset()
    (job_id,) = await seed_jobs(1, asset["id"], presets["H.264 480p"], statuses=("running",))
    await TranscodeJob.update({TranscodeJob.executor: "aws", TranscodeJob.progress: 0.0}).where(TranscodeJob.id == job_id)
    return job_id


async def test_bad_signature_is_401_and_changes_nothing(client, add_asset, presets):
    job_id = await running_job(add_asset, presets)
    before = await job_state(job_id)
    transitions = await JobTransition.count()
    payload = {"attempt": 1, "status": "failed", "error": "forged"}
    for kwargs in ({"secret": None}, {"secret": "wrong-secret"}, {"signature": "00" * 32}, {"signature": ""},
                   {"sign_as": job_id + 1}):  # a signature for another job is no good here
        resp = await post(client, job_id, payload, **kwargs)
        assert resp.status_code == 401, kwargs
        assert resp.json()["changed"] is False
    # a body changed after signing
    body = json.dumps(payload).encode()
    sig = signing.sign_body(SECRET, job_id, body)
    resp = await client.post(f"/api/jobs/{job_id}/callback", content=body.replace(b"forged", b"forgeD"),
                             headers={signing.HEADER: sig})
    assert resp.status_code == 401
    assert await job_state(job_id) == before and await JobTransition.count() == transitions


async def test_progress_success_and_replays(client, add_asset, presets, api_settings, api_clip):
    job_id = await running_job(add_asset, presets)
    resp = await post(client, job_id, {"attempt": 1, "status": "running", "progress": 40.0})
    assert resp.status_code == 200 and resp.json()["changed"] is True
    assert (await job_state(job_id))["progress"] == 40.0

    replay = await post(client, job_id, {"attempt": 1, "status": "running", "progress": 40.0})
    assert replay.status_code == 200 and replay.json()["changed"] is False
    older = await post(client, job_id, {"attempt": 1, "status": "running", "progress": 10.0})
    assert older.json()["changed"] is False and (await job_state(job_id))["progress"] == 40.0
    stale = await post(client, job_id, {"attempt": 7, "status": "failed", "error": "old attempt"})
    assert stale.status_code == 200 and stale.json()["changed"] is False and "stale" in stale.json()["message"]

    key = (await TranscodeJob.select(TranscodeJob.output_key).where(TranscodeJob.id == job_id).first())["output_key"]
    shutil.copyfile(api_clip, api_settings.out_root / key)
    done = {"attempt": 1, "status": "succeeded", "progress": 100,
            "output": {"key": key, "size": api_clip.stat().st_size, "duration": 2.0}, "log_tail": "ok"}
    resp = await post(client, job_id, done)
    assert resp.status_code == 200 and resp.json()["changed"] is True, resp.json()
    state = await job_state(job_id)
    assert state["status"] == "succeeded" and state["output_asset"]
    assert await MediaAsset.exists().where(MediaAsset.id == state["output_asset"])
    transitions = await JobTransition.count()

    again = await post(client, job_id, done)  # a duplicated delivery
    message = again.json()["message"]  # exactly the documented reply shape (backend.jobs.callbacks.CallbackReply)
    assert again.status_code == 200 and again.json() == {"changed": False, "message": message, "accepted": False,
                                                         "stop": True, "reason": message, "job_status": "succeeded"}
    assert "already succeeded" in again.json()["message"]
    late = await post(client, job_id, {"attempt": 1, "status": "failed", "error": "late"})
    assert late.json()["changed"] is False
    assert (await job_state(job_id))["status"] == "succeeded" and await JobTransition.count() == transitions


async def test_failure_and_malformed(client, add_asset, presets):
    job_id = await running_job(add_asset, presets)
    resp = await post(client, job_id, {"attempt": 1, "status": "exploded"})
    assert resp.status_code == 400 and resp.json()["changed"] is False
    resp = await post(client, 999999, {"attempt": 1, "status": "failed"})
    assert resp.status_code == 404
    body = b"not json"
    resp = await client.post(f"/api/jobs/{job_id}/callback", content=body,
                             headers={signing.HEADER: signing.sign_body(SECRET, job_id, body)})
    assert resp.status_code == 400
    resp = await post(client, job_id, {"attempt": 1, "status": "failed", "error": "Lambda ran out of time"})
    assert resp.status_code == 200 and resp.json()["changed"] is True
    state = await job_state(job_id)
    assert state["status"] == "failed" and state["error"] == "Lambda ran out of time"


async def test_callback_answers_at_the_diagram_path_too(client, add_asset, presets):
    """POST /jobs/{id}/callback is the same handler: signed is applied, unsigned refused and changes nothing."""
    job_id = await running_job(add_asset, presets)
    body = json.dumps({"attempt": 1, "status": "running", "progress": 25.0}).encode()
    unsigned = await client.post(f"/jobs/{job_id}/callback", content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401 and unsigned.json()["changed"] is False
    assert (await job_state(job_id))["progress"] == 0.0
    signed = await client.post(f"/jobs/{job_id}/callback", content=body,
                               headers={signing.HEADER: signing.sign_body(SECRET, job_id, body)})
    assert signed.status_code == 200 and signed.json()["changed"] is True
    assert (await job_state(job_id))["progress"] == 25.0
