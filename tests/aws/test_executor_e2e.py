"""End to end on moto: the real app (create_app under uvicorn, its JobRuntime running the AWS
executor) starts the real state machine, which runs the real handler with real FFmpeg on S3
objects, which calls back over real HTTP to the app's signed callback route.

Runs on SQLite and PostgreSQL (the `db` fixture). The app's server runs as a task in the test's
event loop, so the in-process event bus connects the test's commands with the executor.
"""
from __future__ import annotations

import asyncio
import shutil
import threading

import pytest
from app_helpers import STALL, add_asset, job, preset_id, serving, wait_for, wait_job
from aws_helpers import fetch_output, output_exists, states_entered, wait_execution

from backend.awsdeploy.local import free_port
from backend.catalog.ingest import ingest_key
from backend.catalog.presets import seed_builtin_presets
from backend.catalog.tables import MediaAsset
from backend.jobs import lifecycle, service
from backend.jobs.claim import claim_next
from backend.jobs.executors.aws import AwsExecutor, callback_url, execution_name
from backend.media.probe import probe
from backend.storage import open_storages

pytestmark = [pytest.mark.slow, pytest.mark.aws]


async def test_job_runs_on_step_functions_and_succeeds(app, moto_stack, aws_clips, tmp_path):
    asset = await add_asset(app, aws_clips["tiny"], "e2e/tiny.mp4")
    created = await service.create_job(app.settings, app.storages, source_id=asset["id"], preset_id=await preset_id(),
                                       output_name="tiny-e2e")
    assert created["executor"] == "aws"
    row = await wait_job(created["id"])
    assert row["status"] == "succeeded", row["error"]
    assert row["progress"] == 100.0 and row["output_asset"]
    # the name is job-{id}-attempt-{n}; a name left by an earlier database (here: the other
    # parametrization, same moto) gets a suffix instead of failing the job
    assert f":{execution_name(row['id'], 1)}" in row["execution_id"]
    plan = (await lifecycle.load_job(row["id"]))["plan"]  # how it ran, for the API
    assert (plan["mode"], plan["state_machine"]) == ("single", "single")
    assert plan["reason"].startswith("single pass: about") and plan["reason"].endswith("fits the 600 s budget")

    desc = await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"])
    assert desc["status"] == "SUCCEEDED"
    [run] = moto_stack.results_for(row["id"])
    assert run["event"]["input"] == {"bucket": app.settings.s3_in_bucket, "key": "e2e/tiny.mp4"}
    assert run["event"]["callback_url"] == callback_url(app.settings, row["id"])

    head, info = fetch_output(moto_stack, row["output_key"], tmp_path / "out.mp4")
    assert head["ContentType"] == "video/mp4"
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert (info.video.codec, info.audio.codec) == ("h264", "aac")
    out_asset = await MediaAsset.select().where(MediaAsset.id == row["output_asset"]).first()
    assert out_asset["storage_area"] == "out" and out_asset["storage_key"] == row["output_key"]
    steps = [(h["from_status"], h["to_status"]) for h in await lifecycle.history(row["id"])]
    assert steps == [("", "queued"), ("queued", "running"), ("running", "succeeded")]


async def test_corrupt_input_fails_the_job_with_the_reason(app, moto_stack, aws_clips):
    asset = await add_asset(app, aws_clips["tiny"], "e2e/soon-corrupt.mp4")
    # the object is damaged after it was registered (a bad re-upload, bit rot)
    moto_stack.aws.client("s3").upload_file(str(aws_clips["garbage"]), app.settings.s3_in_bucket, "e2e/soon-corrupt.mp4")
    created = await service.create_job(app.settings, app.storages, source_id=asset["id"], preset_id=await preset_id())
    row = await wait_job(created["id"])
    assert row["status"] == "failed"
    assert "cannot be read as media" in row["error"]
    desc = await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"])
    assert desc["status"] == "FAILED" and desc["error"] == "TranscodeFailed"
    assert "ReportFailure" in states_entered(moto_stack, row["execution_id"])
    await wait_for(lambda: moto_stack.results_for(row["id"], "report_failure"), what="report_failure")
    assert not output_exists(moto_stack, row["output_key"])
    steps = [h["to_status"] for h in await lifecycle.history(row["id"])]
    assert steps == ["queued", "running", "failed"]  # the second (Catch) report changed nothing


@pytest.mark.parametrize("via", ["service", "executor"])
async def test_cancel_stops_the_execution(app, moto_stack, aws_clips, hooks, via):
    """Through cancelJob (the executor hears it on the event bus) or the executor's own cancel()
    (StopExecution first, then the transition)."""
    asset = await add_asset(app, aws_clips["tiny"], f"e2e/cancel-me-{via}.mp4")
    gate = threading.Event()
    hooks.before = lambda ev: gate.wait(30) if ev.get("action", "transcode") == "transcode" else None
    try:
        created = await service.create_job(app.settings, app.storages, source_id=asset["id"], preset_id=await preset_id())
        running = await wait_job(created["id"], {"running"}, also=lambda r: bool(r["execution_id"]))
        arn = running["execution_id"]
        await wait_for(lambda: moto_stack.results_for(created["id"]), what="the Lambda to be invoked")
        if via == "service":
            await service.cancel_job(created["id"])
        else:
            assert await app.executor.cancel(created["id"]) is True
            assert app.executor.has_stopped(arn)
        await wait_for(lambda: app.executor.has_stopped(arn), what="StopExecution")
    finally:
        gate.set()  # moto shows ABORTED once the invocation in flight returns; AWS shows it at once
    desc = await asyncio.to_thread(wait_execution, moto_stack, arn)
    assert desc["status"] == "ABORTED"
    # the Lambda that was already running learns from its first callback that it is not wanted
    await wait_for(lambda: any("result" in r or "error" in r for r in moto_stack.results_for(created["id"])),
                   what="handler to return")
    assert moto_stack.results_for(created["id"])[0]["result"]["status"] == "stopped"
    assert not output_exists(moto_stack, running["output_key"])
    row = await job(created["id"])
    assert row["status"] == "cancelled"
    assert [h["to_status"] for h in await lifecycle.history(row["id"])] == ["queued", "running", "cancelled"]


async def test_lost_callback_is_caught_by_the_reconciler(app, moto_stack, aws_clips, hooks, receiver):
    """The Lambda's callbacks go somewhere that answers 200 but is not MPR (a wrong MPR_CALLBACK_URL)."""
    asset = await add_asset(app, aws_clips["tiny"], "e2e/lost.mp4")

    def misroute(ev: dict) -> None:
        ev["callback_url"] = receiver.callback_url(ev["job_id"])

    hooks.before = misroute
    created = await service.create_job(app.settings, app.storages, source_id=asset["id"], preset_id=await preset_id())
    row = await wait_job(created["id"], timeout=STALL + 40)
    assert row["status"] == "failed"
    assert row["error"] == "the AWS execution finished but its callback never arrived"
    assert receiver.payloads(created["id"], "succeeded")  # it did finish, and told the wrong server


async def test_execution_failing_silently_is_caught_by_the_reconciler(app, moto_stack, aws_clips, hooks):
    """No callback at all gets through (the server is unreachable from AWS): the reconciler reads
    the failed execution's cause."""
    asset = await add_asset(app, aws_clips["tiny"], "e2e/silent.mp4")
    moto_stack.aws.client("s3").upload_file(str(aws_clips["garbage"]), app.settings.s3_in_bucket, "e2e/silent.mp4")
    dead = f"http://127.0.0.1:{free_port()}"

    def unreachable(ev: dict) -> None:
        ev["callback_url"] = f"{dead}/api/jobs/{ev['job_id']}/callback"

    hooks.before = unreachable
    created = await service.create_job(app.settings, app.storages, source_id=asset["id"], preset_id=await preset_id())
    row = await wait_job(created["id"], timeout=60)
    assert row["status"] == "failed"
    assert row["error"].startswith("the AWS execution failed: the input cannot be read as media")
    assert (await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"]))["status"] == "FAILED"


async def test_dispatch_refuses_clearly_without_a_state_machine(db, settings, moto_stack, aws_clips):
    s = moto_stack.settings(settings, database_url=db, state_machine_arn=None)
    storages = open_storages(s)
    await seed_builtin_presets()
    await storages.input.put_file(aws_clips["tiny"], "e2e/nosm.mp4")
    asset = await ingest_key(storages, "e2e/nosm.mp4", "in")
    created = await service.create_job(s, storages, source_id=asset.id, preset_id=await preset_id())
    executor = AwsExecutor(s, storages)
    row = await claim_next("aws", executor.worker_id)
    assert row["id"] == created["id"]
    await executor.dispatch(row)
    failed = await job(created["id"])
    assert failed["status"] == "failed"
    assert "MPR_STATE_MACHINE_ARN is not set" in failed["error"]


async def test_local_storage_with_the_aws_executor(db, settings, moto_stack, aws_clips, monkeypatch):
    """MPR_STORAGE=local + MPR_EXECUTOR=aws: the source goes up to the input bucket first, the
    output comes back into the local output folder when the job succeeds."""
    port = free_port()
    s = moto_stack.settings(settings, storage="local", database_url=db, host="127.0.0.1", port=port,
                            callback_url=f"http://127.0.0.1:{port}", stall_seconds=STALL)
    for name, value in {"AWS_ENDPOINT_URL": s.aws_endpoint_url, "AWS_DEFAULT_REGION": s.aws_region,
                        "MPR_S3_IN_BUCKET": s.s3_in_bucket, "MPR_S3_OUT_BUCKET": s.s3_out_bucket}.items():
        monkeypatch.setenv(name, value)  # the callback route reads where to fetch from the environment
    async with serving(s, moto_stack) as app:
        shutil.copyfile(aws_clips["tiny"], s.in_root / "local clip.mp4")
        asset = await ingest_key(app.storages, "local clip.mp4", "in")
        created = await service.create_job(s, app.storages, source_id=asset.id, preset_id=await preset_id(),
                                           output_name="from-aws")
        row = await wait_job(created["id"])
        assert row["status"] == "succeeded", row["error"]
        [run] = moto_stack.results_for(row["id"])
        assert run["event"]["input"] == {"bucket": s.s3_in_bucket, "key": "_mpr-staging/in/local clip.mp4"}
        local = s.out_root / row["output_key"]
        assert local.is_file() and probe(str(local)).duration == pytest.approx(2.0, abs=0.1)
        assert not output_exists(moto_stack, row["output_key"])  # the staged copy is removed
