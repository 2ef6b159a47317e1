"""The real sfn/transcode.asl.json, executed by moto, running the real lambda/handler.py with real
FFmpeg on objects in moto's S3, calling back to a stand-in receiver that checks signatures.
"""
from __future__ import annotations

import json

import pytest
from aws_helpers import fetch_output, job_event, output_exists, put, start, states_entered, wait_execution

from backend.jobs.callbacks import CallbackReply

pytestmark = [pytest.mark.slow, pytest.mark.aws]


def test_success_uploads_verified_output_and_calls_back(moto_stack, receiver, aws_clips, tmp_path):
    put(moto_stack, aws_clips["tiny"], "clips/tiny.mp4")
    event = job_event(moto_stack, 101, "clips/tiny.mp4", receiver.callback_url(101))
    desc = wait_execution(moto_stack, start(moto_stack, event))
    assert desc["status"] == "SUCCEEDED", desc
    result = json.loads(desc["output"])["transcode"]["result"]
    assert result["status"] == "succeeded"

    assert receiver.calls and all(c["signed"] for c in receiver.calls)
    running = receiver.payloads(101, "running")
    assert running and all(p["attempt"] == 1 and 0 <= p["progress"] <= 99 for p in running)
    [final] = receiver.payloads(101, "succeeded")
    key = event["output"]["key"]
    assert final["output"]["key"] == key and final["progress"] == 100.0 and final["error"] == ""
    assert final["output"]["duration"] == pytest.approx(2.0, abs=0.1)

    head, info = fetch_output(moto_stack, key, tmp_path / "out.mp4")
    assert head["ContentType"] == "video/mp4"
    assert final["output"]["size"] == head["ContentLength"]
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert (info.video.codec, info.video.width, info.video.height) == ("h264", 320, 240)
    assert info.audio.codec == "aac"
    assert states_entered(moto_stack, desc["executionArn"]) == ["Transcode", "Done"]
    assert not any(moto_stack.tmp.iterdir()), "the handler left files in /tmp"


def test_trimmed_stream_copy(moto_stack, receiver, aws_clips, tmp_path):
    put(moto_stack, aws_clips["tiny"], "clips/tiny-copy.mp4")
    event = job_event(moto_stack, 102, "clips/tiny-copy.mp4", receiver.callback_url(102),
                      preset_name="Trim only (stream copy)", trim={"start": 1.0, "end": 2.0, "accurate": False})
    desc = wait_execution(moto_stack, start(moto_stack, event))
    assert desc["status"] == "SUCCEEDED", desc
    _, info = fetch_output(moto_stack, event["output"]["key"], tmp_path / "cut.mp4")
    assert info.duration == pytest.approx(1.0, abs=0.15)  # gop 25 at 25 fps: keyframe at 1.0 s


def test_corrupt_input_fails_through_the_catch_path(moto_stack, receiver, aws_clips):
    put(moto_stack, aws_clips["garbage"], "clips/garbage.mp4")
    event = job_event(moto_stack, 103, "clips/garbage.mp4", receiver.callback_url(103))
    desc = wait_execution(moto_stack, start(moto_stack, event))
    assert desc["status"] == "FAILED"
    assert desc["error"] == "TranscodeFailed"
    assert "cannot be read as media" in desc["cause"]
    assert states_entered(moto_stack, desc["executionArn"]) == ["Transcode", "ReportFailure", "TranscodeFailed"]
    failed = receiver.payloads(103, "failed")
    # once from the transcode itself, once from the Catch's report_failure invocation
    assert len(failed) == 2
    assert all("cannot be read as media" in p["error"] for p in failed)
    assert moto_stack.results_for(103, "report_failure")[0]["result"]["status"] == "failed"
    assert not output_exists(moto_stack, event["output"]["key"])
    assert not any(moto_stack.tmp.iterdir())


def test_catch_reports_even_when_the_transcode_cannot(moto_stack, receiver, aws_clips, hooks):
    """The transcode's own callbacks are lost (wrong URL); the Catch path still tells the backend."""
    put(moto_stack, aws_clips["garbage"], "clips/garbage2.mp4")
    event = job_event(moto_stack, 104, "clips/garbage2.mp4", receiver.callback_url(104))

    def reroute(ev: dict) -> None:
        if ev.get("action", "transcode") == "transcode":
            ev["callback_url"] = receiver.url + "/nowhere/104/callback"

    receiver.reply = lambda job_id, payload: (200, CallbackReply(True, False, "ok", "running").to_dict())
    hooks.before = reroute
    desc = wait_execution(moto_stack, start(moto_stack, event))
    assert desc["status"] == "FAILED"
    # the stand-in receiver routes by path: only the report_failure callback reached job 104
    [failed] = receiver.payloads(104, "failed")
    assert "cannot be read as media" in failed["error"]


def test_missing_input_object(moto_stack, receiver):
    event = job_event(moto_stack, 105, "clips/not-there.mp4", receiver.callback_url(105))
    desc = wait_execution(moto_stack, start(moto_stack, event))
    assert desc["status"] == "FAILED"
    assert "does not exist" in receiver.payloads(105, "failed")[0]["error"]


def test_invalid_event_is_reported_by_the_catch(moto_stack, receiver):
    event = job_event(moto_stack, 106, "clips/tiny.mp4", receiver.callback_url(106))
    event["preset"] = {"name": "bad", "kind": "video", "container": "mp4", "video_codec": "rm -rf"}
    desc = wait_execution(moto_stack, start(moto_stack, event))
    assert desc["status"] == "FAILED" and desc["error"] == "InvalidEvent"
    [failed] = receiver.payloads(106, "failed")  # only the Catch could report it
    assert failed["error"].startswith("InvalidEvent: invalid preset")


def test_backend_saying_stop_skips_the_upload(moto_stack, receiver, aws_clips):
    put(moto_stack, aws_clips["tiny"], "clips/tiny-stop.mp4")
    receiver.reply = lambda job_id, payload: (200, CallbackReply(False, True, "job is already cancelled; callback ignored",
                                                                 "cancelled").to_dict())
    event = job_event(moto_stack, 107, "clips/tiny-stop.mp4", receiver.callback_url(107))
    desc = wait_execution(moto_stack, start(moto_stack, event))
    assert desc["status"] == "SUCCEEDED"
    [run] = moto_stack.results_for(107)
    assert run["result"]["status"] == "stopped"
    assert not output_exists(moto_stack, event["output"]["key"])
    assert not receiver.payloads(107, "succeeded")
