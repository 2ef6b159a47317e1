"""POST /api/jobs/{id}/callback: HMAC-signed (timestamp + the attempt's execution nonce), idempotent,
stale attempts ignored, replays of an earlier attempt's callback and stale timestamps refused."""
from __future__ import annotations

import json
import shutil
import time

from api_helpers import seed_jobs
from backend import signing
from backend.catalog.tables import JobTransition, MediaAsset, TranscodeJob
from backend.jobs import lifecycle

SECRET = "test-callback-secret"


async def current_nonce(job_id) -> str:
    row = await TranscodeJob.select(TranscodeJob.callback_nonce).where(TranscodeJob.id == job_id).first()
    return row["callback_nonce"] if row else "no-such-job"


async def signed(job_id, body: bytes, *, secret=SECRET, nonce=None, now=None, sign_as=None) -> dict:
    """The headers the Lambda sends: timestamp, the job's current nonce (unless given), signature."""
    nonce = await current_nonce(job_id) if nonce is None else nonce
    return signing.signed_headers(secret, sign_as if sign_as is not None else job_id, nonce, body, now=now)


async def post(client, job_id, payload, *, secret=SECRET, signature=None, sign_as=None, nonce=None, now=None):
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers.update(await signed(job_id, body, secret=secret, nonce=nonce, now=now, sign_as=sign_as))
    if signature is not None:
        headers[signing.HEADER] = signature
    return await client.post(f"/api/jobs/{job_id}/callback", content=body, headers=headers)


async def job_state(job_id):
    return await TranscodeJob.select(TranscodeJob.status, TranscodeJob.progress, TranscodeJob.attempt,
                                     TranscodeJob.error, TranscodeJob.output_asset).where(TranscodeJob.id == job_id).first()


async def running_job(add_asset, presets) -> int:
    asset = await add_asset()
    (job_id,) = await seed_jobs(1, asset["id"], presets["H.264 480p"], statuses=("running",))
    await TranscodeJob.update({TranscodeJob.executor: "aws", TranscodeJob.progress: 0.0,
                               TranscodeJob.callback_nonce: signing.new_nonce()}).where(TranscodeJob.id == job_id)
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
    headers = await signed(job_id, body)
    resp = await client.post(f"/api/jobs/{job_id}/callback", content=body.replace(b"forged", b"forgeD"),
                             headers=headers)
    assert resp.status_code == 401
    # the nonce or the timestamp changed after signing
    for name, value in ((signing.NONCE_HEADER, signing.new_nonce()),
                        (signing.TIMESTAMP_HEADER, str(int(headers[signing.TIMESTAMP_HEADER]) + 1))):
        resp = await client.post(f"/api/jobs/{job_id}/callback", content=body, headers={**headers, name: value})
        assert resp.status_code == 401 and resp.json()["reason"] == signing.BAD_SIGNATURE, name
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
    resp = await client.post(f"/api/jobs/{job_id}/callback", content=body, headers=await signed(job_id, body))
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
    accepted = await client.post(f"/jobs/{job_id}/callback", content=body, headers=await signed(job_id, body))
    assert accepted.status_code == 200 and accepted.json()["changed"] is True
    assert (await job_state(job_id))["progress"] == 25.0


async def test_stale_timestamp_is_refused(client, add_asset, presets):
    """A callback signed more than MPR_CALLBACK_TOLERANCE (300 s) away from the server's clock is
    401, before or after; inside the window it is applied."""
    job_id = await running_job(add_asset, presets)
    payload = {"attempt": 1, "status": "failed", "error": "captured long ago"}
    for skew in (-301, 301, -3600):
        resp = await post(client, job_id, payload, now=time.time() + skew)
        assert resp.status_code == 401 and resp.json()["reason"] == signing.STALE, skew
    assert (await job_state(job_id))["status"] == "running"
    resp = await post(client, job_id, {"attempt": 1, "status": "running", "progress": 12.0}, now=time.time() - 200)
    assert resp.status_code == 200 and resp.json()["accepted"] is True


async def test_replayed_callback_of_an_earlier_attempt_is_refused(client, add_asset, presets):
    """Attempt 1's callbacks, captured byte for byte and replayed (inside the time window) after
    the job was retried and attempt 2 dispatched with a new nonce, are 409 with stop and change
    nothing; attempt 2's own callbacks are applied."""
    job_id = await running_job(add_asset, presets)
    body = json.dumps({"attempt": 1, "status": "running", "progress": 30.0}).encode()
    headers = await signed(job_id, body)
    first = await client.post(f"/api/jobs/{job_id}/callback", content=body, headers=headers)
    assert first.status_code == 200 and first.json()["accepted"] is True
    done_body = json.dumps({"attempt": 1, "status": "failed", "error": "attempt 1 failed"}).encode()
    done_headers = await signed(job_id, done_body)
    assert (await client.post(f"/api/jobs/{job_id}/callback", content=done_body,
                              headers=done_headers)).json()["accepted"] is True

    # the user retries; the AWS executor dispatches attempt 2 with a fresh nonce
    assert await lifecycle.transition(job_id, lifecycle.QUEUED, "retry", attempt=2, progress=0.0)
    assert await lifecycle.transition(job_id, lifecycle.RUNNING, "dispatched (test)")
    await TranscodeJob.update({TranscodeJob.callback_nonce: signing.new_nonce()}).where(TranscodeJob.id == job_id)
    before, transitions = await job_state(job_id), await JobTransition.count()

    for captured_body, captured_headers in ((body, headers), (done_body, done_headers)):
        replay = await client.post(f"/api/jobs/{job_id}/callback", content=captured_body, headers=captured_headers)
        assert replay.status_code == 409, replay.text
        assert replay.json()["accepted"] is False and replay.json()["stop"] is True
        assert "current attempt" in replay.json()["reason"]
    # the old nonce with the new attempt's number (what an old execution could still sign) is refused too
    old_nonce = headers[signing.NONCE_HEADER]
    resp = await post(client, job_id, {"attempt": 2, "status": "failed", "error": "x"}, nonce=old_nonce)
    assert resp.status_code == 409
    assert await job_state(job_id) == before and await JobTransition.count() == transitions

    now = await post(client, job_id, {"attempt": 2, "status": "running", "progress": 5.0})
    assert now.status_code == 200 and now.json()["accepted"] is True


async def test_a_job_never_dispatched_accepts_no_callback(client, add_asset, presets):
    """No nonce on the row (a job the AWS executor never started): every callback is refused."""
    job_id = await running_job(add_asset, presets)
    await TranscodeJob.update({TranscodeJob.callback_nonce: ""}).where(TranscodeJob.id == job_id)
    for nonce in ("", "anything"):
        resp = await post(client, job_id, {"attempt": 1, "status": "running", "progress": 5.0}, nonce=nonce)
        assert resp.status_code in (401, 409) and resp.json()["accepted"] is False, nonce
    assert (await job_state(job_id))["progress"] == 0.0
