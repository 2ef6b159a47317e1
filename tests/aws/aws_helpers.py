"""Small helpers shared by the AWS tests: job events, waiting for executions, reading outputs."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from backend.jobs.executors.aws import execution_input
from backend.media.presets import BUILTIN_PRESETS
from backend.pipeline import JobSpec, Location
from backend.media.probe import MediaInfo, probe

SECRET = "test-callback-secret"  # the `settings` fixture's callback secret


def preset(name: str = "H.264 480p") -> dict:
    return next(p for p in BUILTIN_PRESETS if p.name == name).to_dict()


def job_event(stack, job_id: int, in_key: str, callback_url: str, *, out_key: str | None = None,
              preset_name: str = "H.264 480p", trim: dict | None = None, attempt: int = 1,
              nonce: str | None = None) -> dict:
    """A Step Functions input as the AWS executor builds it: the envelope beside a JobSpec."""
    trim = trim or {"start": 0.0, "end": None, "accurate": True}
    spec = JobSpec(
        source=Location(bucket=stack.env["MPR_S3_IN_BUCKET"], key=in_key),
        output=Location(bucket=stack.env["MPR_S3_OUT_BUCKET"], key=out_key or f"out-{job_id}-{uuid.uuid4().hex[:6]}.mp4"),
        preset=preset(preset_name), trim_start=trim["start"], trim_end=trim["end"], accurate=trim["accurate"],
    )
    return execution_input(job_id, attempt, callback_url, spec, nonce or f"nonce-{job_id}-{attempt}")


def put(stack, path: Path, key: str) -> None:
    stack.aws.client("s3").upload_file(str(path), stack.env["MPR_S3_IN_BUCKET"], key)


def start(stack, event: dict, name: str | None = None) -> str:
    sfn = stack.aws.client("stepfunctions")
    return sfn.start_execution(
        stateMachineArn=stack.env["MPR_STATE_MACHINE_ARN"],
        name=name or f"job-{event['job_id']}-attempt-{event['attempt']}-{uuid.uuid4().hex[:6]}",
        input=json.dumps(event),
    )["executionArn"]


def wait_execution(stack, arn: str, timeout: float = 60.0, until=("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")) -> dict:
    sfn = stack.aws.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] in until:
            return desc
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution still {desc['status']} after {timeout} s")
        time.sleep(0.1)


def states_entered(stack, arn: str) -> list[str]:
    sfn = stack.aws.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def fetch_output(stack, key: str, dest: Path) -> tuple[dict, MediaInfo]:
    s3 = stack.aws.client("s3")
    head = s3.head_object(Bucket=stack.env["MPR_S3_OUT_BUCKET"], Key=key)
    s3.download_file(stack.env["MPR_S3_OUT_BUCKET"], key, str(dest))
    return head, probe(str(dest))


def output_exists(stack, key: str) -> bool:
    listing = stack.aws.client("s3").list_objects_v2(Bucket=stack.env["MPR_S3_OUT_BUCKET"], Prefix=key)
    return any(o["Key"] == key for o in listing.get("Contents", []))
