"""trimMode: SMART end to end over GraphQL: trimPlan says what the cut will do, createJob stores
the mode, the local executor runs the smart cut (through run_single's dispatch) and the job's plan
records what was re-encoded and copied; impossible combinations are refused before any job starts."""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess

import pytest

from backend.catalog.ingest import ingest_key
from backend.jobs.executors.local import LocalExecutor
from backend.media.binaries import ffprobe_path
from backend.media.clips import generate_clip

PLAN = """query($id: ID!, $start: Float, $end: Float, $mode: TrimMode) {
  trimPlan(sourceId: $id, start: $start, end: $end, mode: $mode) {
    mode description headSeconds tailSeconds copySeconds encodeSeconds frames fallback } }"""
CREATE = """mutation($input: CreateJobInput!) { createJob(input: $input) { id status trimMode accurateTrim plan } }"""
JOB = """query($id: ID!) { job(id: $id) { status error trimMode plan outputAsset { duration } outputFilename } }"""


@pytest.fixture(scope="module")
def gop2_clip(tmp_path_factory):
    # keyframes at 0, 2, 4 s (25 fps, GOP 50)
    return generate_clip(tmp_path_factory.mktemp("smart") / "gop2.mp4", duration=6.0, width=320, height=240,
                         fps=25, gop=50)


@pytest.fixture
async def smart_asset(api_settings, storages, gop2_clip):
    dest = api_settings.in_root / "gop2.mp4"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(gop2_clip, dest)
    row = await ingest_key(storages, "gop2.mp4", "in")
    assert row.status == "ready", row.error_message
    return row.to_dict()


async def test_smart_trim_through_graphql_and_the_local_executor(gql, smart_asset, presets, api_settings, storages):
    src, copy = str(smart_asset["id"]), str(presets["Trim only (stream copy)"])
    plan = (await gql(PLAN, {"id": src, "start": 1.0, "end": 5.0, "mode": "SMART"}))["trimPlan"]
    assert plan["description"] == "re-encodes 1.00 s at the start and 1.00 s at the end, copies 2.0 s"
    assert (plan["mode"], plan["headSeconds"], plan["tailSeconds"], plan["copySeconds"], plan["frames"]) == \
        ("smart", 1.0, 1.0, 2.0, 100)
    keyframe = (await gql(PLAN, {"id": src, "start": 1.0, "end": 5.0, "mode": "KEYFRAME"}))["trimPlan"]
    assert keyframe["mode"] == "keyframe" and "1.00 s before the in point" in keyframe["description"]

    job = (await gql(CREATE, {"input": {"sourceId": src, "presetId": copy, "trimStart": 1.0, "trimEnd": 5.0,
                                        "trimMode": "SMART"}}))["createJob"]
    assert job["status"] == "QUEUED" and job["trimMode"] == "smart" and job["plan"]["trim"] == "smart"
    assert job["accurateTrim"] is True
    executor = LocalExecutor(api_settings, storages, poll_seconds=0.2)
    await executor.start()
    try:
        for _ in range(600):
            done = (await gql(JOB, {"id": job["id"]}))["job"]
            if done["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            await asyncio.sleep(0.1)
    finally:
        await executor.stop()
    assert done["status"] == "SUCCEEDED", done["error"]
    assert done["trimMode"] == "smart"
    record = done["plan"]
    assert record["smart_mode"] == "smart" and record["frames"] == 100
    assert record["smart_plan"] == plan["description"]
    assert record["checks"]["copied_frames"] == 50 and record["checks"]["min_ssim"] >= 0.98
    assert done["outputAsset"]["duration"] == pytest.approx(4.0, abs=0.05)
    out = api_settings.out_root / done["outputFilename"]
    probe = subprocess.run([ffprobe_path(), "-v", "error", "-count_packets", "-select_streams", "v:0",
                            "-show_entries", "stream=nb_read_packets,codec_name", "-of", "json", str(out)],
                           capture_output=True, text=True, check=True)
    stream = json.loads(probe.stdout)["streams"][0]
    assert (stream["codec_name"], int(stream["nb_read_packets"])) == ("h264", 100)


async def test_impossible_trim_modes_are_refused_before_a_job_starts(gql, smart_asset, presets):
    src, copy, h264 = (str(smart_asset["id"]), str(presets["Trim only (stream copy)"]), str(presets["H.264 480p"]))
    cases = [
        ({"presetId": h264, "trimMode": "SMART"}, "stream-copy preset"),
        ({"presetId": copy, "trimMode": "ACCURATE"}, "cannot cut frame-accurately"),
        ({"presetId": h264, "trimMode": "KEYFRAME"}, "always frame accurate"),
        ({"presetId": copy, "trimMode": "SMART", "chunked": True}, "one pass"),
    ]
    for extra, words in cases:
        err = await gql.error(CREATE, {"input": {"sourceId": src, "trimStart": 1.0, "trimEnd": 5.0, **extra}})
        assert err["extensions"]["code"] == "INVALID_TRIM" and words in err["message"], (extra, err)
    jobs = await gql("{ jobs { nodes { id } } }")
    assert jobs["jobs"]["nodes"] == []
    default = (await gql(CREATE, {"input": {"sourceId": src, "presetId": copy}}))["createJob"]
    assert default["trimMode"] == "keyframe" and default["accurateTrim"] is False
    reencode = (await gql(CREATE, {"input": {"sourceId": src, "presetId": h264}}))["createJob"]
    assert reencode["trimMode"] == "accurate"


async def test_smart_refuses_an_unsupported_codec(gql, api_settings, storages, presets, tmp_path):
    vp9 = generate_clip(tmp_path / "v.webm", duration=2.0, vcodec="libvpx-vp9", acodec="libopus")
    dest = api_settings.in_root / "v.mkv"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(vp9, dest)
    row = (await ingest_key(storages, "v.mkv", "in")).to_dict()
    err = await gql.error(CREATE, {"input": {"sourceId": str(row["id"]), "trimMode": "SMART",
                                             "presetId": str(presets["Trim only (stream copy)"])}})
    assert err["extensions"]["code"] == "INVALID_TRIM" and "H.264 and HEVC" in err["message"]
    err = await gql.error(PLAN, {"id": str(row["id"]), "mode": "SMART"})
    assert "H.264 and HEVC" in err["message"]


async def test_a_smart_cut_record_from_the_lambda_lands_in_the_jobs_plan(client, add_asset, presets, api_settings,
                                                                        api_clip):
    """The Lambda's succeeded callback carries the runner's record (`output.plan`); it is merged into
    the job's plan, so an AWS job says what was re-encoded and copied like a local one."""
    from test_callback import post, running_job

    from backend.catalog.tables import TranscodeJob

    job_id = await running_job(add_asset, presets)
    await TranscodeJob.update({TranscodeJob.plan: {"trim": "smart"}}).where(TranscodeJob.id == job_id)
    key = (await TranscodeJob.select(TranscodeJob.output_key).where(TranscodeJob.id == job_id).first())["output_key"]
    shutil.copyfile(api_clip, api_settings.out_root / key)
    record = {"smart_mode": "smart", "smart_plan": "copies 2.0 s", "frames": 50, "checks": {"copied_frames": 50}}
    resp = await post(client, job_id, {"attempt": 1, "status": "succeeded",
                                       "output": {"key": key, "duration": 2.0, "plan": record}})
    assert resp.status_code == 200 and resp.json()["changed"] is True, resp.json()
    plan = (await TranscodeJob.select(TranscodeJob.plan).where(TranscodeJob.id == job_id).first())["plan"]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    assert plan == {"trim": "smart", **record}
