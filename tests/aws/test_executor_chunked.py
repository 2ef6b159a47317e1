"""Chunked jobs through the AWS executor, end to end on moto: the real app decides, plans and
starts the deployed chunked state machine (sfn/transcode-chunked.asl.json), whose Map runs the real
handler's chunk actions with real FFmpeg on S3 objects; the join calls back over real HTTP to the
app's signed callback route. Runs on SQLite and PostgreSQL (the `db` fixture).
"""
from __future__ import annotations

import asyncio

import pytest
from app_helpers import STALL, add_asset, preset_id, serving, wait_job
from aws_helpers import fetch_output, states_entered, wait_execution

from backend.awsdeploy.local import free_port
from backend.catalog.tables import MediaAsset
from backend.jobs import lifecycle, service
from backend.jobs.executors import aws_plan
from backend.media.chunking import stream_stats
from backend.media.clips import generate_clip

pytestmark = [pytest.mark.slow, pytest.mark.aws]


@pytest.fixture(scope="module")
def clip_20s(clips_dir):
    return generate_clip(clips_dir / "aws-20s-180p.mp4", duration=20, width=320, height=180, fps=25, gop=50)


async def test_chunked_job_runs_as_a_map_of_lambdas(app, moto_stack, clip_20s, tmp_path, monkeypatch):
    monkeypatch.setattr(aws_plan, "MIN_CHUNK_SECONDS", 5.0)  # 4 chunks out of 20 s (10 s chunks at least otherwise)
    asset = await add_asset(app, clip_20s, "e2e/twenty.mp4")
    created = await service.create_job(app.settings, app.storages, source_id=asset["id"],
                                       preset_id=await preset_id(), output_name="twenty-chunked", chunked=True)
    row = await wait_job(created["id"], timeout=240)
    assert row["status"] == "succeeded", row["error"]
    row = await lifecycle.load_job(row["id"])  # JSON columns decoded
    assert row["progress"] == 100.0 and row["output_asset"]

    plan = row["plan"]
    assert (plan["mode"], plan["state_machine"], plan["reason"]) == ("chunked", "chunked", "chunked encoding requested")
    assert (plan["chunks"], plan["concurrency"], plan["frames"], plan["target_seconds"]) == (4, 4, 500, 5.0)
    assert sum(plan["chunk_frames"]) == 500 and plan["chunked_requested"] is True
    assert f":execution:mpr-transcode-chunked:job-{row['id']}-attempt-1" in row["execution_id"]

    desc = await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"])
    assert desc["status"] == "SUCCEEDED"
    entered = states_entered(moto_stack, row["execution_id"])
    assert entered.count("EncodeChunk") == 4 and entered[-2:] == ["Join", "Done"]
    encodes = moto_stack.results_for(row["id"], "chunk_encode")
    assert sorted((r["result"]["index"], r["result"]["frames"]) for r in encodes) == \
        list(enumerate(plan["chunk_frames"]))
    assert moto_stack.results_for(row["id"]) == []  # no single-pass invocation
    [join] = moto_stack.results_for(row["id"], "chunk_join")
    assert join["event"]["plan"]["join"]["frames"] == 500

    out = tmp_path / "joined.mp4"
    head, info = fetch_output(moto_stack, row["output_key"], out)
    assert head["ContentType"] == "video/mp4"
    assert info.duration == pytest.approx(20.0, abs=0.05)
    assert (info.video.codec, info.audio.codec, info.video.width, info.video.height) == ("h264", "aac", 320, 180)
    stats = stream_stats(out)
    assert stats.video_frames == 500 and stats.video_duration == pytest.approx(20.0, abs=1 / 25)
    assert abs(stats.audio_duration - stats.video_duration) <= 0.05

    out_asset = await MediaAsset.select().where(MediaAsset.id == row["output_asset"]).first()
    assert out_asset["storage_key"] == row["output_key"] and out_asset["duration"] == pytest.approx(20.0, abs=0.05)
    steps = [h["to_status"] for h in await lifecycle.history(row["id"])]
    assert steps == ["queued", "running", "succeeded"]
    listing = moto_stack.aws.client("s3").list_objects_v2(Bucket=app.settings.s3_out_bucket, Prefix="_chunks/")
    assert not [o["Key"] for o in listing.get("Contents", []) if f"job-{row['id']}-attempt-1/" in o["Key"]]


async def test_without_the_chunked_machine_the_job_runs_single_pass(db, settings, moto_stack, aws_clips):
    """MPR_CHUNKED_STATE_MACHINE_ARN unset (an older deployment): the job runs in one Lambda and says why."""
    port = free_port()
    s = moto_stack.settings(settings, database_url=db, host="127.0.0.1", port=port, chunked_state_machine_arn=None,
                            callback_url=f"http://127.0.0.1:{port}", stall_seconds=STALL)
    async with serving(s, moto_stack) as app:
        asset = await add_asset(app, aws_clips["tiny"], "e2e/no-chunked-machine.mp4")
        created = await service.create_job(s, app.storages, source_id=asset["id"], preset_id=await preset_id(),
                                           chunked=True)
        row = await wait_job(created["id"])
        assert row["status"] == "succeeded", row["error"]
        plan = (await lifecycle.load_job(row["id"]))["plan"]
        assert (plan["mode"], plan["state_machine"]) == ("single", "single")
        assert "MPR_CHUNKED_STATE_MACHINE_ARN is not set" in plan["reason"] and "chunks" not in plan
        [run] = moto_stack.results_for(row["id"])
        assert "plan" not in run["event"]
        assert ":execution:mpr-transcode:" in row["execution_id"]
