"""lambda/handler.py called directly (S3 in moto, callbacks to a stand-in receiver): event
validation, the deadline, /tmp space, callback throttling, signatures and failure reasons.
"""
from __future__ import annotations

import json
import time
from collections import namedtuple
from pathlib import Path

import pytest
from aws_helpers import SECRET, job_event, output_exists, put

from backend.awsdeploy.moto_lambda import LambdaContext, load_handler

pytestmark = [pytest.mark.slow, pytest.mark.aws]
handler = load_handler()


@pytest.fixture
def env(moto_stack, tmp_path):
    work = tmp_path / "lambda-tmp"
    work.mkdir()
    return {
        "AWS_ENDPOINT_URL": moto_stack.aws.endpoint, "AWS_DEFAULT_REGION": moto_stack.aws.region,
        "MPR_CALLBACK_SECRET": SECRET, "MPR_LAMBDA_TMP": str(work),
        "MPR_CALLBACK_TRIES": "2", "MPR_CALLBACK_BACKOFF_S": "0.1",
    }


@pytest.fixture(scope="module")
def tiny_key(moto_stack, aws_clips):
    put(moto_stack, aws_clips["tiny"], "unit/tiny.mp4")
    return "unit/tiny.mp4"


def ctx(seconds: float = 900.0) -> LambdaContext:
    return LambdaContext("mpr-ffmpeg", seconds)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"job_id": "7"}, "job_id must be a positive integer"),
        ({"attempt": 0}, "attempt must be a positive integer"),
        ({"input": {"bucket": "b"}}, "input.bucket and input.key"),
        ({"output": None}, "output must be an object"),
        ({"callback_url": "file:///etc/passwd"}, "callback_url must be an http.s. URL"),
        ({"nonce": None}, "nonce must be the attempt's execution nonce"),
        ({"nonce": ""}, "nonce must be the attempt's execution nonce"),
        ({"trim": {"start": 3, "end": 1}}, "empty or negative"),
        ({"preset": {"name": "x", "kind": "video", "container": "exe"}}, "invalid preset"),
        ({"sequence": {"canvas": {"width": 320, "height": 240, "fps": 25, "sample_rate": 48000, "channels": 2,
                                  "audio": True},
                       "clips": [{"input": {"bucket": "b", "key": "k"}, "start": 0, "end": 1,
                                  "source": {"format_name": "mp4", "duration": 2.0, "size": 1}}]}},
         "a sequence render runs as a Map of its clips"),
    ],
)
def test_invalid_events_are_refused_before_any_work(moto_stack, receiver, env, change, message):
    event = {**job_event(moto_stack, 201, "unit/tiny.mp4", receiver.callback_url(201)), **change}
    with pytest.raises(handler.InvalidEvent, match=message):
        handler.process(event, ctx(), env)
    assert not receiver.calls


def test_unknown_action_and_missing_secret(moto_stack, receiver, env, tiny_key):
    with pytest.raises(handler.InvalidEvent, match="unknown action"):
        handler.process({"action": "rm"}, ctx(), env)
    event = job_event(moto_stack, 202, tiny_key, receiver.callback_url(202))
    with pytest.raises(handler.InvalidEvent, match="MPR_CALLBACK_SECRET"):
        handler.process(event, ctx(), {k: v for k, v in env.items() if k != "MPR_CALLBACK_SECRET"})


def test_too_little_time_left_fails_clearly(moto_stack, receiver, env, tiny_key):
    event = job_event(moto_stack, 203, tiny_key, receiver.callback_url(203))
    with pytest.raises(handler.TranscodeFailed, match="Lambda time left"):
        handler.process(event, ctx(handler.DEADLINE_MARGIN_S - 5), env)
    [failed] = receiver.payloads(203, "failed")
    assert "Lambda time left" in failed["error"]
    assert not any(Path(env["MPR_LAMBDA_TMP"]).iterdir())


def test_ffmpeg_is_stopped_before_the_deadline(moto_stack, receiver, env, tiny_key, monkeypatch):
    # when FFmpeg is about to start, 20 ms are left beyond the margin: it cannot finish in that
    monkeypatch.setattr(handler, "_seconds_left", lambda context: handler.DEADLINE_MARGIN_S + 0.02)
    event = job_event(moto_stack, 204, tiny_key, receiver.callback_url(204), preset_name="H.264 1080p")
    with pytest.raises(handler.TranscodeFailed, match="did not finish within the time"):
        handler.process(event, ctx(), env)  # raised only when the budget stopped FFmpeg
    [failed] = receiver.payloads(204, "failed")
    assert "chunked processing" in failed["error"]
    assert not output_exists(moto_stack, event["output"]["key"])
    assert not any(Path(env["MPR_LAMBDA_TMP"]).iterdir())


def test_too_big_for_tmp_is_refused_before_download(moto_stack, receiver, env, tiny_key, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(handler.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    event = job_event(moto_stack, 205, tiny_key, receiver.callback_url(205))
    with pytest.raises(handler.TranscodeFailed, match="not enough room"):
        handler.process(event, ctx(), env)
    assert "chunked processing" in receiver.payloads(205, "failed")[0]["error"]


def test_wrong_secret_is_explained(moto_stack, receiver, env, tiny_key):
    event = job_event(moto_stack, 206, tiny_key, receiver.callback_url(206))
    with pytest.raises(handler.CallbackError, match="MPR_CALLBACK_SECRET"):
        handler.process(event, ctx(), {**env, "MPR_CALLBACK_SECRET": "not-the-servers"})
    assert receiver.calls and not any(c["signed"] for c in receiver.calls)
    assert not any(Path(env["MPR_LAMBDA_TMP"]).iterdir())


class StepClock:
    """The handler's clock, moved by the test: the Reporter's 2 s throttle and 15 s heartbeat are
    decided on this time, so what is sent depends on the steps taken, not on the machine's speed."""

    def __init__(self, reporter_module, monkeypatch):
        self.now = 1000.0
        real = time

        class Time:
            def __getattr__(self, name):
                return getattr(real, name)

            def monotonic(_self) -> float:
                return self.now

        monkeypatch.setattr(reporter_module, "time", Time())

    def advance_to(self, t: float, reporter) -> None:
        self.now = 1000.0 + t
        with reporter._cond:  # wake the sender thread, which otherwise sleeps until its next due time
            reporter._cond.notify_all()


def wait_for_calls(receiver, job_id: int, n: int, timeout: float = 20.0) -> list[dict]:
    """Wait (event by event, no fixed sleep) until the receiver has `n` running callbacks of the job."""
    deadline = time.monotonic() + timeout
    while len(receiver.payloads(job_id, "running")) < n:
        assert time.monotonic() < deadline, receiver.payloads(job_id)
        time.sleep(0.01)
    return receiver.payloads(job_id, "running")


def report(reporter, pct: float) -> None:
    reporter.progress(pct / 100, fps=25.0, speed=1.0, eta=1.0)


def test_progress_callbacks_are_throttled_and_signed(moto_stack, receiver, monkeypatch):
    clock = StepClock(handler, monkeypatch)
    event = job_event(moto_stack, 207, "unit/x.mp4", receiver.callback_url(207))
    reporter = handler.Reporter(handler.parse_event(event), SECRET)
    try:
        wait_for_calls(receiver, 207, 1)  # the first report goes at once
        for step in range(1, 40):  # 0.05 s apart on the handler's clock: inside one 2 s window
            clock.advance_to(step * 0.05, reporter)
            report(reporter, step)
        clock.advance_to(2.0, reporter)  # the window is over: the LATEST value goes, once
        running = wait_for_calls(receiver, 207, 2)
        report(reporter, 99.5)
        clock.advance_to(3.9, reporter)
        report(reporter, 120)
        clock.advance_to(4.0, reporter)
        running = wait_for_calls(receiver, 207, 3)
    finally:
        reporter.close()
    running = receiver.payloads(207, "running")
    assert len(running) == 3, running  # t = 0, 2, 4 s: never more than one per 2 s
    assert all(c["signed"] for c in receiver.calls)
    assert [p["progress"] for p in running] == [0.0, 39.0, 99.0]  # coalesced to the latest, capped at 99
    assert {"fps", "speed", "eta", "attempt", "error", "log_tail"} <= set(running[-1])


def test_heartbeat_without_progress(moto_stack, receiver, monkeypatch):
    clock = StepClock(handler, monkeypatch)
    event = job_event(moto_stack, 208, "unit/x.mp4", receiver.callback_url(208))
    reporter = handler.Reporter(handler.parse_event(event), SECRET)
    try:
        wait_for_calls(receiver, 208, 1)
        clock.advance_to(handler.HEARTBEAT_INTERVAL_S - 0.1, reporter)
        clock.advance_to(handler.HEARTBEAT_INTERVAL_S, reporter)  # no progress for 15 s: a heartbeat
        wait_for_calls(receiver, 208, 2)
        clock.advance_to(2 * handler.HEARTBEAT_INTERVAL_S, reporter)
        running = wait_for_calls(receiver, 208, 3)
    finally:
        reporter.close()
    assert len(receiver.payloads(208, "running")) == 3
    assert [p["progress"] for p in running] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "reply, stop",
    [
        # the route's replies (backend.jobs.callbacks.CallbackReply); only the fields count
        ({"accepted": True, "stop": False, "reason": "progress 12.0%", "job_status": "running"}, False),
        ({"accepted": False, "stop": False, "reason": "progress not newer than what is known", "job_status": "running"}, False),
        ({"accepted": False, "stop": True, "reason": "job is already cancelled; callback ignored", "job_status": "cancelled"}, True),
        ({"accepted": False, "stop": True, "reason": "stale callback for attempt 1; the job is on attempt 2", "job_status": "running"}, True),
        ({"accepted": False, "stop": True, "reason": "job is queued, not running; callback ignored", "job_status": "queued"}, True),
        ({"changed": False, "message": "job is already cancelled; callback ignored"}, False),  # wording is never read
        ({"job_status": "cancelled"}, True),
        ({"stop": True}, True),
    ],
)
def test_which_replies_stop_the_attempt(reply, stop):
    assert bool(handler.stop_requested(reply)) is stop


@pytest.mark.parametrize(
    "error, cause, expected",
    [
        ("TranscodeFailed", json.dumps({"errorType": "TranscodeFailed", "errorMessage": "FFmpeg says no"}), "FFmpeg says no"),
        ("InvalidEvent", json.dumps({"errorType": "InvalidEvent", "errorMessage": "bad preset"}), "InvalidEvent: bad preset"),
        ("States.Timeout", "", "timed out on Step Functions"),
        ("Lambda.Unknown", "The cause", "Lambda.Unknown: The cause"),
        ("", "", "failed without a reason"),
    ],
)
def test_failure_reason_from_catch(error, cause, expected):
    assert expected in handler.failure_reason(error, cause)


def test_report_failure_action(moto_stack, receiver, env):
    out = handler.process(
        {"action": "report_failure", "job_id": 209, "attempt": 2, "callback_url": receiver.callback_url(209),
         "nonce": "nonce-209-2", "error": "States.Timeout", "cause": ""}, ctx(), env,
    )
    assert out["status"] == "failed"
    [failed] = receiver.payloads(209, "failed")
    assert failed["attempt"] == 2 and "timed out" in failed["error"]
    assert [c["nonce"] for c in receiver.calls if c["job_id"] == 209] == ["nonce-209-2"]


def test_content_types():
    assert handler.content_type("a/b.mp4") == "video/mp4"
    assert handler.content_type("x.WEBM") == "video/webm"
    assert handler.content_type("x.m4a") == "audio/mp4"
    assert handler.content_type("x.gif") == "image/gif"
    assert handler.content_type("x.unknownext") == "application/octet-stream"


def test_the_executor_and_the_lambda_read_step_functions_errors_alike():
    from backend.jobs.executors.aws import execution_reason

    raised = json.dumps({"errorType": "InvalidEvent", "errorMessage": "bad preset"})
    assert execution_reason("FAILED", "InvalidEvent", raised) == "the AWS execution failed: InvalidEvent: bad preset"
    assert handler.failure_reason("InvalidEvent", raised) == "InvalidEvent: bad preset"
    own = json.dumps({"errorType": "TranscodeFailed", "errorMessage": "FFmpeg says no"})
    assert execution_reason("FAILED", "TranscodeFailed", own) == "the AWS execution failed: FFmpeg says no"
    assert execution_reason("ABORTED", "", "") == "the AWS execution was stopped outside MPR"
    # a payload without a type takes the Error's name; a timeout with a Lambda payload shows the payload
    assert handler.failure_reason("Lambda.Unknown", json.dumps({"errorMessage": "boom"})) == "Lambda.Unknown: boom"
    assert handler.failure_reason("States.Timeout", own) == "FFmpeg says no"


def test_template_events_need_the_ladder_machine_and_a_planned_step(moto_stack, receiver, env, tiny_key, aws_clips):
    """A template job sent to the single-pass machine (an old deployment) is refused, not run as one
    file; a ladder step that is not one of the spec's plan is refused before any work."""
    from backend.media.probe import probe
    from backend.media.templates import builtin_template, validate_template
    from backend.pipeline.ladder_plan import LadderPlan

    template = validate_template(builtin_template("Mobile ABR"))
    event = {**job_event(moto_stack, 203, tiny_key, receiver.callback_url(203), out_key="pkg-203/"),
             "ladder": template.to_dict()}
    with pytest.raises(handler.InvalidEvent, match="ladder state machine"):
        handler.process(event, ctx(), env)
    plan = LadderPlan.make(template, probe(str(aws_clips["tiny"])), None)
    event = {**event, "plan": plan.to_dict(), "action": "ladder_step"}
    with pytest.raises(handler.InvalidEvent, match="not one of this job's planned steps"):
        handler.process({**event, "step": {"step": "rendition", "index": 9, "name": "9000p"}}, ctx(), env)
    with pytest.raises(handler.InvalidEvent, match="plan is not a ladder plan"):
        handler.process({**event, "plan": {"steps": "all"}}, ctx(), env)
    assert not receiver.calls
    assert handler.content_type("pkg/master.m3u8") == "application/vnd.apple.mpegurl"
    assert handler.content_type("pkg/seg-0-00001.m4s") == "video/iso.segment"


def test_a_presigned_url_in_a_failure_loses_its_signature():
    from backend.jobs.executors.aws import execution_reason

    url = ("https://mpr-in.s3.us-east-1.amazonaws.com/clips/a%20b.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Credential=AKIAEXAMPLE%2F20261130%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=deadbeef")
    cause = json.dumps({"errorType": "ChunkFailed", "errorMessage": f"chunk 0: Error opening input {url}: 403"})
    for reason in (handler.failure_reason("ChunkFailed", cause), execution_reason("FAILED", "ChunkFailed", cause)):
        assert "X-Amz" not in reason and "deadbeef" not in reason and "AKIAEXAMPLE" not in reason
        assert "Error opening input https://mpr-in.s3.us-east-1.amazonaws.com/clips/a%20b.mp4: 403" in reason
