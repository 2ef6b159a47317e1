"""Chunked jobs through the AWS executor, end to end on moto: the real app decides, plans and
starts the deployed chunked state machine (sfn/transcode-chunked.asl.json), whose Map runs the real
handler's chunk actions with real FFmpeg on S3 objects; the join calls back over real HTTP to the
app's signed callback route. Runs on SQLite and PostgreSQL (the `db` fixture).
"""
from __future__ import annotations

import asyncio
import re

import pytest
from app_helpers import STALL, add_asset, job, preset_id, serving, wait_for, wait_job
from aws_helpers import fetch_output, output_exists, states_entered, wait_execution
from procs import describe, ffmpeg_children

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


# -- cancel and failure mid-chunk, checked by process and in the database ---------------------
@pytest.fixture(scope="module")
def clip_30s(clips_dir):
    """30 s of 640x360 that H.265 encodes slowly enough here to act while the chunks run."""
    return generate_clip(clips_dir / "aws-30s-360p.mp4", duration=30, width=640, height=360, fps=25, gop=50)


async def start_slow_chunked_job(app, moto_stack, clip, name: str, monkeypatch) -> tuple[dict, str]:
    """A chunked H.265 job of 4 chunks; once its chunk Lambdas run FFmpeg: (row, process marker)."""
    monkeypatch.setattr(aws_plan, "MIN_CHUNK_SECONDS", 7.5)
    asset = await add_asset(app, clip, f"e2e/{name}.mp4")
    created = await service.create_job(app.settings, app.storages, source_id=asset["id"],
                                       preset_id=await preset_id("H.265 1080p"), output_name=name, chunked=True)
    marker = str(moto_stack.tmp)  # every chunk/audio Lambda works in a folder under the handler's /tmp
    row = await wait_job(created["id"], {"running"}, timeout=120,
                         also=lambda r: r["progress"] > 0 and len(chunk_ffmpegs(marker, r["id"])) >= 1)
    return row, marker


def chunk_ffmpegs(marker: str, job_id: int) -> list:
    return [p for p in ffmpeg_children(marker) if f"mpr-chunk-{job_id}-" in " ".join(p.cmdline())]


async def invocations_returned(moto_stack, job_id: int, timeout: float = 120.0) -> None:
    """Wait until the execution is over and every handler invocation of the job has returned."""
    def over() -> bool:
        runs = [r for r in moto_stack.aws.invocations if r["event"].get("job_id") == job_id]
        return bool(runs) and all("result" in r or "error" in r for r in runs)

    await wait_for(over, timeout, what="the job's Lambda invocations to return")


async def test_cancel_mid_chunk_stops_the_execution_and_every_ffmpeg(app, moto_stack, clip_30s, monkeypatch):
    row, marker = await start_slow_chunked_job(app, moto_stack, clip_30s, "cancel-mid-chunk", monkeypatch)
    running = chunk_ffmpegs(marker, row["id"])
    await service.cancel_job(row["id"])
    await wait_for(lambda: app.executor.has_stopped(row["execution_id"]), what="StopExecution")
    desc = await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"], 120)
    # AWS shows ABORTED at once; moto only once the invocations in flight return, and those may
    # already have failed the Map with ChunkStopped (then FAILED, its failure report ignored)
    assert desc["status"] in ("ABORTED", "FAILED"), desc
    await invocations_returned(moto_stack, row["id"])
    # every chunk Lambda heard "not wanted" at its next progress report and stopped its FFmpeg
    assert describe(ffmpeg_children(marker)) == []
    assert not any(p.is_running() for p in running)
    assert not list(moto_stack.tmp.glob(f"mpr-chunk-{row['id']}-*"))  # the Lambdas' work folders
    stopped = [r for r in moto_stack.results_for(row["id"], "chunk_encode") if "error" in r]
    assert stopped and all("ChunkStopped" in str(r["error"]) for r in stopped), stopped
    assert not output_exists(moto_stack, row["output_key"])
    assert moto_stack.results_for(row["id"], "chunk_join") == []
    done = await job(row["id"])
    assert done["status"] == "cancelled" and done["output_asset"] is None
    assert [h["to_status"] for h in await lifecycle.history(row["id"])] == ["queued", "running", "cancelled"]


async def test_a_chunk_killed_mid_encode_fails_the_job_with_its_reason(app, moto_stack, clip_30s, monkeypatch):
    row, marker = await start_slow_chunked_job(app, moto_stack, clip_30s, "chunk-killed", monkeypatch)
    victim = chunk_ffmpegs(marker, row["id"])[0]
    index = int(re.search(rf"mpr-chunk-{row['id']}-(\d+)-", " ".join(victim.cmdline())).group(1))
    victim.kill()  # the chunk's FFmpeg dies mid-encode
    done = await wait_job(row["id"], timeout=120)
    assert done["status"] == "failed", done
    assert re.search(rf"chunk {index} \([0-9.]+ s, \d+ frames\): ffmpeg was killed by signal SIGKILL",
                     done["error"]), done["error"]
    desc = await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"], 120)
    assert desc["status"] == "FAILED"
    assert "ReportFailure" in states_entered(moto_stack, row["execution_id"])
    await invocations_returned(moto_stack, row["id"])
    assert describe(ffmpeg_children(marker)) == []  # the other chunks stopped too
    assert not output_exists(moto_stack, row["output_key"])
    hist = await lifecycle.history(row["id"])
    assert [h["to_status"] for h in hist] == ["queued", "running", "failed"]
    assert hist[-1]["reason"] == done["error"]
