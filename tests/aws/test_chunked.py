"""sfn/transcode-chunked.asl.json executed by moto with the real handler (lambda/handler.py →
lambda/chunk_actions.py) and real FFmpeg: a Map state encodes a 60 s clip in 6 chunks from S3 to
S3, a parallel Map encodes the audio in 3 segments, a join step joins their packets and
stream-copies everything together. The joined output must pass verification and match a local
single-pass encode (frames, SSIM); its audio must hold a whole encode's samples with no
discontinuity at the segment joins.
"""
from __future__ import annotations

import ast
import time
import asyncio
import json
import re
import subprocess
import urllib.request
import uuid

import pytest
from aws_helpers import fetch_output, job_event, output_exists, put, states_entered, wait_execution

from dataclasses import replace

from backend.awsdeploy.deploy import render_definition
from backend.config import REPO_ROOT
from backend.media.binaries import ffmpeg_path
from backend.media.audio_joins import check_audio_joins
from backend.media.chunking import AV_SYNC_TOLERANCE, plan_chunks, read_frame_index, stream_stats, verify_joined
from backend.media.chunking.commands import audio_command
from backend.media.clips import generate_clip
from backend.media.command import Trim, build_command, expected_duration
from backend.media.presets import PresetSpec, validate_preset
from backend.media.probe import probe
from backend.media.runner import run_ffmpeg
from backend.media.verify import verify_output

pytestmark = [pytest.mark.slow, pytest.mark.aws]

CHUNKED_ASL = REPO_ROOT / "sfn" / "transcode-chunked.asl.json"
SPEC = validate_preset(PresetSpec(
    "chunked on lambda", "video", "mp4", video_codec="libx264", crf=26, speed_preset="ultrafast",
    audio_codec="aac", audio_bitrate=64, channels=2,
))


@pytest.fixture(scope="module")
def chunked_machine(moto_stack) -> str:
    """The chunked definition, deployed by `deploy_resources` beside the single-pass one (same
    function, same role)."""
    sfn = moto_stack.aws.client("stepfunctions")
    arn = moto_stack.env["MPR_CHUNKED_STATE_MACHINE_ARN"]
    deployed = sfn.describe_state_machine(stateMachineArn=moto_stack.env["MPR_STATE_MACHINE_ARN"])
    function_arn = json.loads(deployed["definition"])["States"]["Transcode"]["Parameters"]["FunctionName"]
    chunked = sfn.describe_state_machine(stateMachineArn=arn)
    assert json.loads(chunked["definition"]) == json.loads(render_definition(function_arn, CHUNKED_ASL))
    assert chunked["roleArn"] == deployed["roleArn"]
    yield arn
    # moto's state is process-wide: leave none behind for modules that expect a fresh account (test_deploy)
    urllib.request.urlopen(urllib.request.Request(f"{moto_stack.aws.endpoint}/moto-api/reset", method="POST"))


@pytest.fixture(scope="module")
def clip_60s(clips_dir):
    return generate_clip(clips_dir / "aws-60s.mp4", duration=60, width=320, height=180, fps=25, gop=50,
                         extra_args=("-movflags", "+faststart"))


@pytest.fixture(scope="module")
def clip_12s(clips_dir):
    return generate_clip(clips_dir / "aws-12s.mp4", duration=12, width=320, height=180, fps=25, gop=50)


def chunked_event(stack, job_id, clip, key, receiver, *, target, concurrency, trim=None, audio_part_seconds=300.0):
    put(stack, clip, key)
    trim = trim or Trim()
    info = probe(clip)
    plan = plan_chunks(info, SPEC, trim, index=read_frame_index(clip), target_seconds=target,
                       max_concurrency=concurrency, audio_part_seconds=audio_part_seconds)
    event = job_event(stack, job_id, key, receiver.callback_url(job_id),
                      trim={"start": trim.start, "end": trim.end, "accurate": True})
    event["preset"] = SPEC.to_dict()
    event["plan"] = plan.to_dict()
    return event, plan, info


def start_chunked(stack, machine: str, event: dict) -> str:
    return stack.aws.client("stepfunctions").start_execution(
        stateMachineArn=machine, name=f"job-{event['job_id']}-chunked-{uuid.uuid4().hex[:6]}",
        input=json.dumps(event),
    )["executionArn"]


def work_objects(stack, job_id: int) -> list[str]:
    listing = stack.aws.client("s3").list_objects_v2(
        Bucket=stack.env["MPR_S3_OUT_BUCKET"], Prefix=f"_chunks/job-{job_id}-")
    return [o["Key"] for o in listing.get("Contents", [])]


def ssim(distorted, src, frames: int) -> float:
    argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-i", str(distorted), "-i", str(src),
            "-lavfi", "[0:v]setpts=PTS-STARTPTS[a];[1:v]setpts=PTS-STARTPTS[b];[a][b]ssim",
            "-frames:v", str(frames), "-f", "null", "-"]
    err = subprocess.run(argv, capture_output=True, text=True, check=True).stderr
    return float(re.search(r"All:([0-9.]+)", err).group(1))


def test_map_state_encodes_six_chunks_and_joins_them(moto_stack, chunked_machine, receiver, clip_60s, tmp_path):
    event, plan, info = chunked_event(moto_stack, 301, clip_60s, "clips/sixty.mp4", receiver,
                                      target=10.0, concurrency=3, audio_part_seconds=20.0)
    assert len(plan.chunks) == 6 and plan.total_frames == 1500
    assert plan.audio.mode == "segments" and len(plan.audio_parts) == 3
    desc = wait_execution(moto_stack, start_chunked(moto_stack, chunked_machine, event), timeout=600)
    assert desc["status"] == "SUCCEEDED", desc

    entered = states_entered(moto_stack, desc["executionArn"])
    assert entered[0] == "Encode" and entered[-2:] == ["Join", "Done"]
    assert entered.count("EncodeChunk") == 6 and entered.count("EncodeAudio") == 3
    encodes = moto_stack.results_for(301, "chunk_encode")
    assert sorted(r["result"]["index"] for r in encodes) == list(range(6))
    assert [r["result"]["frames"] for r in sorted(encodes, key=lambda r: r["result"]["index"])] == \
        [c.frames for c in plan.chunks]
    audio_parts = moto_stack.results_for(301, "chunk_audio")
    assert sorted(r["result"]["index"] for r in audio_parts) == [0, 1, 2]
    [join] = moto_stack.results_for(301, "chunk_join")
    assert join["result"]["status"] == "succeeded" and join["result"]["chunks"] == 6

    # progress: the chunks' shares add up (one chunk alone is 1/6 of it)
    assert max(r["result"]["job_percent"] for r in encodes) == pytest.approx(97.0, abs=0.01)
    running = receiver.payloads(301, "running")
    assert running and all(0 <= p["progress"] <= 99 for p in running)
    assert max(p["progress"] for p in running) >= 90
    [final] = receiver.payloads(301, "succeeded")
    key = event["output"]["key"]
    assert final["output"]["key"] == key and final["output"]["duration"] == pytest.approx(60.0, abs=0.05)
    assert "6 chunks" in final["log_tail"] and "audio encoded in 3 segments" in final["log_tail"]

    out = tmp_path / "joined.mp4"
    head, out_info = fetch_output(moto_stack, key, out)
    assert head["ContentType"] == "video/mp4" and final["output"]["size"] == head["ContentLength"]
    stats = verify_joined(out, plan, [r["result"]["frames"] for r in encodes])
    verify_output(out, SPEC, Trim(), info)
    assert abs(stats.audio_duration - stats.video_duration) <= AV_SYNC_TOLERANCE
    assert stats.video_duration == pytest.approx(60.0, abs=1 / 25)

    # the audio: a whole encode's samples, no discontinuity at the joins, no departure from it there
    whole = tmp_path / "whole.m4a"
    asyncio.run(run_ffmpeg(audio_command(replace(plan.audio, mode="whole", ext=".m4a"), info, clip_60s, whole),
                           duration=60.0, output=whole))
    report = check_audio_joins(out, plan.audio_joins(), expected_samples=plan.audio.samples, reference=whole)
    assert report.samples == 60 * 48000 and report.decoded_samples == report.reference_samples
    assert len(report.joins) == 2 and all(j.discontinuity_db <= -60.0 for j in report.joins)

    single = tmp_path / "single.mp4"
    asyncio.run(run_ffmpeg(build_command(clip_60s, single, SPEC, Trim(), info),
                           duration=expected_duration(Trim(), info), output=single))
    assert stream_stats(single).video_frames == stats.video_frames == 1500
    single_ssim, chunked_ssim = ssim(single, clip_60s, 1500), ssim(out, clip_60s, 1500)
    assert abs(chunked_ssim - single_ssim) <= 0.002, (chunked_ssim, single_ssim)

    assert work_objects(moto_stack, 301) == [], "intermediate chunks left in the output bucket"
    assert not any(moto_stack.tmp.iterdir()), "the handler left files in /tmp"


def test_trimmed_range_joins_frame_exact(moto_stack, chunked_machine, receiver, clip_12s, tmp_path):
    trim = Trim(1.3, 10.7)
    event, plan, info = chunked_event(moto_stack, 302, clip_12s, "clips/twelve.mp4", receiver,
                                      target=3.0, concurrency=2, trim=trim)
    desc = wait_execution(moto_stack, start_chunked(moto_stack, chunked_machine, event), timeout=300)
    assert desc["status"] == "SUCCEEDED", desc
    out = tmp_path / "trimmed.mp4"
    fetch_output(moto_stack, event["output"]["key"], out)
    stats = verify_joined(out, plan)
    assert stats.video_frames == round((10.7 - 1.3) * 25) == plan.total_frames


class ChunkFailed(Exception):
    """Named like lambda/chunk_actions.ChunkFailed: the definition never retries it."""


def test_failed_chunk_is_reported_through_the_catch(moto_stack, chunked_machine, receiver, clip_12s, hooks):
    event, plan, _ = chunked_event(moto_stack, 303, clip_12s, "clips/twelve-fail.mp4", receiver,
                                   target=3.0, concurrency=2)
    tries = []

    def break_chunk_one(ev: dict) -> None:
        if ev.get("action") == "chunk_encode" and ev["chunk"]["index"] == 1:
            tries.append(1)
            raise ChunkFailed("chunk 1: ffmpeg exploded")

    hooks.before = break_chunk_one
    desc = wait_execution(moto_stack, start_chunked(moto_stack, chunked_machine, event), timeout=300)
    assert desc["status"] == "FAILED" and desc["error"] == "ChunkFailed"
    assert len(tries) == 1, "a ChunkFailed must not be retried"
    entered = states_entered(moto_stack, desc["executionArn"])
    assert "Join" not in entered and entered[-2:] == ["ReportFailure", "TranscodeFailed"]
    [failed] = receiver.payloads(303, "failed")
    assert "ffmpeg exploded" in failed["error"]
    assert not output_exists(moto_stack, event["output"]["key"])


def test_transient_chunk_error_is_retried(moto_stack, chunked_machine, receiver, clip_12s, hooks):
    event, plan, _ = chunked_event(moto_stack, 304, clip_12s, "clips/twelve-retry.mp4", receiver,
                                   target=3.0, concurrency=2)
    tries = []

    def flaky(ev: dict) -> None:
        if ev.get("action") == "chunk_encode" and ev["chunk"]["index"] == 2:
            tries.append(1)
            if len(tries) == 1:
                raise ConnectionResetError("S3 connection reset")

    hooks.before = flaky
    desc = wait_execution(moto_stack, start_chunked(moto_stack, chunked_machine, event), timeout=300)
    assert desc["status"] == "SUCCEEDED", desc
    assert len(tries) == 2
    assert receiver.payloads(304, "succeeded")


def test_definition_and_image_shape():
    asl = json.loads(CHUNKED_ASL.read_text())
    states = asl["States"]
    encode = states[asl["StartAt"]]
    assert encode["Type"] == "Parallel" and encode["Catch"][0]["Next"] == "ReportFailure"
    video, audio = encode["Branches"]
    chunk_map = video["States"][video["StartAt"]]
    assert chunk_map["Type"] == "Map" and chunk_map["ItemsPath"] == "$.plan.chunks"
    assert chunk_map["MaxConcurrencyPath"] == "$.plan.max_concurrency"
    task = chunk_map["ItemProcessor"]["States"]["EncodeChunk"]
    assert chunk_map["ItemSelector"]["action"] == "chunk_encode" and 0 < task["TimeoutSeconds"] < 900
    never = next(r for r in task["Retry"] if "ChunkFailed" in r["ErrorEquals"])
    assert never["MaxAttempts"] == 0 and task["Retry"][-1]["ErrorEquals"] == ["States.ALL"]
    audio_map = audio["States"][audio["StartAt"]]
    assert audio_map["Type"] == "Map" and audio_map["ItemsPath"] == "$.plan.audio_parts"
    assert audio_map["ItemSelector"]["action"] == "chunk_audio"
    assert audio_map["ItemSelector"]["part.$"] == "$$.Map.Item.Value"
    join = states[encode["Next"]]
    assert join["Parameters"]["Payload"]["action"] == "chunk_join" and join["Catch"][0]["Next"] == "ReportFailure"
    assert states["ReportFailure"]["Parameters"]["Payload"]["action"] == "report_failure"
    assert states["ReportFailure"]["Next"] == "TranscodeFailed" and states["TranscodeFailed"]["Type"] == "Fail"

    dockerfile = (REPO_ROOT / "lambda" / "Dockerfile").read_text()
    assert "lambda/chunk_actions.py" in dockerfile
    assert "!lambda/chunk_actions.py" in (REPO_ROOT / "lambda" / "Dockerfile.dockerignore").read_text()
    tree = ast.parse((REPO_ROOT / "lambda" / "chunk_actions.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert all(m.startswith("backend.media") for m in imported if m.startswith("backend"))


def _chunk_actions():
    import importlib.util

    spec = importlib.util.spec_from_file_location("mpr_chunk_actions_test", REPO_ROOT / "lambda" / "chunk_actions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_growing_upload_sends_parts_while_the_file_grows(moto_stack, chunked_machine, tmp_path):
    """The join's upload overlaps FFmpeg's writing: parts past the head go up as the file grows,
    the head (rewritten last, like the MP4 index in its reserved room) goes up at the end.
    (`chunked_machine`: its teardown resets moto for the modules that expect a fresh account.)"""
    import threading

    actions = _chunk_actions()
    s3 = moto_stack.aws.client("s3")
    bucket, mib = moto_stack.env["MPR_S3_OUT_BUCKET"], 1024 * 1024
    path = tmp_path / "growing.mp4"
    blocks = [bytes([i]) * mib for i in range(1, 18)]
    path.write_bytes(b"\0" * (5 * mib))  # the reserved head
    up = actions.GrowingUpload(s3, path, bucket, "out/growing.mp4", 5 * mib, {"ContentType": "video/mp4"},
                               part_bytes=5 * mib)
    seen = []

    def writer():
        with open(path, "r+b") as fh:
            fh.seek(5 * mib)
            for block in blocks:
                fh.write(block)
                fh.flush()
                time.sleep(0.03)
                seen.append(len(up.sent))
            fh.seek(0)
            fh.write(b"H" * (5 * mib))  # the index, written last at the front

    t = threading.Thread(target=writer)
    t.start()
    t.join()
    assert seen[-1] >= 2, "no part went up while the file grew"
    size = up.finish()
    assert size == 22 * mib
    body = s3.get_object(Bucket=bucket, Key="out/growing.mp4")
    assert body["ContentType"] == "video/mp4"
    assert body["Body"].read() == path.read_bytes()

    path.write_bytes(b"x" * (12 * mib))
    dropped = actions.GrowingUpload(s3, path, bucket, "out/dropped.mp4", 5 * mib, {}, part_bytes=5 * mib)
    time.sleep(0.5)
    dropped.abort()
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="out/dropped")
    assert not listing.get("Contents")
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
