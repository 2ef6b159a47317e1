"""Fixtures for the AWS tests: a moto server that executes the real state machine with the real
handler (`backend.awsdeploy.local`), MPR deployed into it, tiny clips, and a stand-in callback
receiver that checks signatures like the real route does.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest
from app_helpers import STALL, serving
from aws_helpers import SECRET

from backend import signing
from backend.awsdeploy.deploy import Deployment
from backend.awsdeploy.local import LocalAws, deploy_local, free_port, local_aws
from backend.config import Settings
from backend.jobs.callbacks import CallbackReply
from backend.media.clips import generate_clip


@pytest.fixture(scope="session")
def aws_clips(clips_dir) -> dict[str, Path]:
    folder = clips_dir / "aws"
    folder.mkdir(exist_ok=True)
    good = generate_clip(folder / "tiny.mp4", duration=2.0, width=320, height=240, fps=25, gop=25)
    garbage = folder / "garbage.mp4"
    garbage.write_bytes(b"definitely not a video\n" * 400)
    return {"tiny": good, "garbage": garbage}


@dataclass
class Hooks:
    """What the harness does before each handler invocation; tests swap `before` in and out."""

    before: Callable[[dict], None] | None = None

    def __call__(self, event: dict) -> None:
        if self.before is not None:
            self.before(event)


@dataclass
class MotoStack:
    aws: LocalAws
    deployment: Deployment
    hooks: Hooks
    tmp: Path  # the handler's /tmp

    @property
    def env(self) -> dict[str, str]:
        return self.deployment.settings

    def settings(self, base: Settings, **changes) -> Settings:
        return base.with_(**{
            "storage": "s3", "executor": "aws", "aws_endpoint_url": self.aws.endpoint, "aws_region": self.aws.region,
            "s3_in_bucket": self.env["MPR_S3_IN_BUCKET"], "s3_out_bucket": self.env["MPR_S3_OUT_BUCKET"],
            "state_machine_arn": self.env["MPR_STATE_MACHINE_ARN"],
            "chunked_state_machine_arn": self.env["MPR_CHUNKED_STATE_MACHINE_ARN"],
            "ladder_state_machine_arn": self.env["MPR_LADDER_STATE_MACHINE_ARN"],
            "sequence_state_machine_arn": self.env["MPR_SEQUENCE_STATE_MACHINE_ARN"], "callback_secret": SECRET,
            **changes,
        })

    def results_for(self, job_id: int, action: str = "transcode") -> list[dict]:
        return [r for r in self.aws.invocations
                if r["event"].get("job_id") == job_id and r["event"].get("action", "transcode") == action]


@pytest.fixture(scope="module")
def moto_stack(tmp_path_factory) -> MotoStack:
    """moto on a free loopback port, MPR deployed in it; one per test module (moto's state is global)."""
    tmp = tmp_path_factory.mktemp("lambda-tmp")
    hooks = Hooks()
    env = {"MPR_LAMBDA_TMP": str(tmp), "MPR_CALLBACK_TRIES": "2", "MPR_CALLBACK_BACKOFF_S": "0.2"}
    with local_aws(handler_env=env, before_invoke=hooks) as aws:
        base = Settings.from_env().with_(s3_in_bucket="mpr-test-in", s3_out_bucket="mpr-test-out")
        deployment = deploy_local(aws, base, callback_secret=SECRET, log=lambda line: None)
        yield MotoStack(aws, deployment, hooks, tmp)


@pytest.fixture
async def app(db, settings, moto_stack):
    """The real app (AWS executor, S3 storage) on a free port, on the `db` database."""
    port = free_port()
    s = moto_stack.settings(settings, database_url=db, host="127.0.0.1", port=port,
                            callback_url=f"http://127.0.0.1:{port}", stall_seconds=STALL)
    async with serving(s, moto_stack) as running:
        yield running


@pytest.fixture
def hooks(moto_stack):
    yield moto_stack.hooks
    moto_stack.hooks.before = None


@dataclass
class Receiver:
    """A stand-in for POST /api/jobs/{id}/callback: verifies signatures and records what came."""

    url: str
    calls: list[dict] = field(default_factory=list)  # {"job_id", "payload", "signed", "nonce"}
    reply: Callable[[int, dict], tuple[int, dict]] = lambda job_id, payload: (
        200, CallbackReply(True, False, "ok", "running").to_dict())

    def callback_url(self, job_id: int) -> str:
        return f"{self.url}/api/jobs/{job_id}/callback"

    def payloads(self, job_id: int, status: str | None = None) -> list[dict]:
        return [c["payload"] for c in self.calls
                if c["job_id"] == job_id and c["signed"] and (status is None or c["payload"]["status"] == status)]


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            match = re.fullmatch(r"/api/jobs/(\d+)/callback", self.path)
            if not match:
                self.send_error(404)
                return
            job_id = int(match.group(1))
            signed = signing.check(SECRET, job_id, body, self.headers) == signing.OK
            payload = json.loads(body)
            state.calls.append({"job_id": job_id, "payload": payload, "signed": signed,
                                "nonce": self.headers.get(signing.NONCE_HEADER)})
            status, reply = ((401, CallbackReply.refused("bad signature").to_dict()) if not signed
                             else state.reply(job_id, payload))
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    thread.join()
