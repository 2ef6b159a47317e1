"""One job description: the AWS executor's Step Functions input is the callback envelope beside
a `JobSpec`, verbatim — it parses with `JobSpec.from_dict`, equals the spec kept on the job row,
and is exactly what the Lambda receives. And the Lambda stops on the reply's fields alone: with
every human message of the callback route reworded, a cancel still stops a running Lambda.
"""
from __future__ import annotations

import asyncio
import json
import threading

import pytest
from app_helpers import add_asset, job, preset_id, wait_for, wait_job
from aws_helpers import output_exists, wait_execution

from backend.jobs import callbacks, lifecycle, service
from backend.jobs.executors.aws import callback_url, execution_input
from backend.pipeline import JobSpec, Location, SpecError

pytestmark = [pytest.mark.slow, pytest.mark.aws]
ENVELOPE = {"job_id", "attempt", "callback_url", "nonce"}


def test_spec_round_trip_and_versions():
    spec = JobSpec(source=Location(bucket="in", key="a.mp4"), output=Location(area="out", key="b.mp4"),
                   preset={"name": "p", "kind": "video", "container": "mp4", "video_codec": "libx264"},
                   trim_start=1.0, trim_end=2.5, accurate=True)
    assert JobSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == JobSpec.from_dict(spec.to_dict())
    event = execution_input(7, 2, "http://mpr/api/jobs/7/callback", spec, "n0nce")
    assert set(event) == ENVELOPE | set(spec.to_dict())
    assert JobSpec.from_dict(event).to_dict() == JobSpec.from_dict(spec.to_dict()).to_dict()
    with pytest.raises(SpecError, match="unknown job spec version 99"):
        JobSpec.from_dict({**spec.to_dict(), "version": 99})


async def test_step_functions_input_is_the_job_spec(app, moto_stack, aws_clips):
    asset = await add_asset(app, aws_clips["tiny"], "e2e/described-once.mp4")
    created = await service.create_job(app.settings, app.storages, source_id=asset["id"], preset_id=await preset_id(),
                                       trim_start=0.2, trim_end=1.6)
    row = await wait_job(created["id"])
    assert row["status"] == "succeeded", row["error"]
    stored = JobSpec.from_dict((await lifecycle.load_job(row["id"]))["spec"])
    assert (stored.trim_start, stored.trim_end, stored.source.key) == (0.2, 1.6, "e2e/described-once.mp4")

    desc = await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"])
    sent = json.loads(desc["input"])
    assert set(sent) == ENVELOPE | set(stored.to_dict())  # nothing but the envelope and the spec
    assert JobSpec.from_dict(sent) == stored
    assert (sent["job_id"], sent["attempt"], sent["callback_url"]) == (row["id"], 1, callback_url(app.settings, row["id"]))
    [run] = moto_stack.results_for(row["id"])
    assert run["event"] == sent  # the Lambda receives the input verbatim


async def test_cancel_stops_a_running_lambda_whatever_the_wording(app, moto_stack, aws_clips, hooks, monkeypatch):
    for i, name in enumerate(callbacks.MESSAGES):
        monkeypatch.setitem(callbacks.MESSAGES, name, f"Nachricht {i}: etwas ist anders")
    asset = await add_asset(app, aws_clips["tiny"], "e2e/reworded.mp4")
    gate = threading.Event()
    hooks.before = lambda ev: gate.wait(30) if ev.get("action", "transcode") == "transcode" else None
    try:
        created = await service.create_job(app.settings, app.storages, source_id=asset["id"], preset_id=await preset_id())
        running = await wait_job(created["id"], {"running"}, also=lambda r: bool(r["execution_id"]))
        await wait_for(lambda: moto_stack.results_for(created["id"]), what="the Lambda to be invoked")
        await service.cancel_job(created["id"])
    finally:
        gate.set()
    await wait_for(lambda: any("result" in r or "error" in r for r in moto_stack.results_for(created["id"])),
                   what="handler to return")
    result = moto_stack.results_for(created["id"])[0]["result"]
    assert result["status"] == "stopped"
    assert "Nachricht" in result["reason"]  # the reworded reply was the one it got, and it still stopped
    assert not output_exists(moto_stack, running["output_key"])
    assert (await job(created["id"]))["status"] == "cancelled"
