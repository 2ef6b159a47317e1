"""`mpr aws local`: the whole AWS side on this machine, for development and tests.

Starts a moto server on loopback (S3, IAM, Lambda, Step Functions) configured to EXECUTE state
machines, patches its Lambda to run the real lambda/handler.py in-process (real FFmpeg, real S3
objects in moto, real HTTP callbacks), deploys MPR to it with `deploy_resources`, and prints the
environment that makes `MPR_EXECUTOR=aws MPR_STORAGE=s3 make run` use it.
"""
from __future__ import annotations

import argparse
import os
import secrets
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping
from unittest.mock import patch

from backend.awsdeploy.deploy import Deployment, deploy_resources, format_env
from backend.awsdeploy.moto_lambda import real_handler_in_moto
from backend.config import Settings

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "mpr-local", "AWS_SECRET_ACCESS_KEY": "mpr-local"}
LOCAL_IMAGE_URI = "mpr-ffmpeg:local"  # never pulled: the patched Lambda runs lambda/handler.py directly
DEFAULT_PORT = 5000  # moto's default; the state machine calls Lambda at localhost:$MOTO_PORT


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class LocalAws:
    endpoint: str
    port: int
    region: str
    invocations: list[dict] = field(default_factory=list)  # {"event", "result" | "error"} per handler run

    def client(self, service: str):
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=self.region)


@contextmanager
def local_aws(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    region: str = "us-east-1",
    handler_env: Mapping[str, str] | None = None,
    before_invoke: Callable[[dict], None] | None = None,
) -> Iterator[LocalAws]:
    """A moto server that executes state machines with the real handler, for the `with` block.

    Fake credentials are set in this process while it runs when none are; MOTO_PORT is set in-process (moto's
    Step Functions interpreter reads it to reach Lambda). The handler gets AWS_ENDPOINT_URL
    pointing at this server, plus `handler_env`.
    """
    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer

    port = port or free_port(host)
    endpoint = f"http://{host}:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": region, **(handler_env or {})}
    process_env = {k: v for k, v in FAKE_CREDENTIALS.items() if not os.environ.get(k)}
    process_env["MOTO_PORT"] = str(port)
    with patch.dict(os.environ, process_env), patch.dict(default_user_config, MOTO_CONFIG):
        server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        server.start()
        try:
            with real_handler_in_moto(env, before_invoke=before_invoke) as seen:
                yield LocalAws(endpoint=endpoint, port=port, region=region, invocations=seen)
        finally:
            server.stop()


def deploy_local(
    aws: LocalAws, settings: Settings, *, callback_secret: str | None = None, log=print
) -> Deployment:
    """Deploy MPR into the local moto server (buckets, roles, function, state machine)."""
    settings = settings.with_(aws_endpoint_url=aws.endpoint, aws_region=aws.region)
    return deploy_resources(settings, LOCAL_IMAGE_URI, callback_secret=callback_secret, log=log)


def main_local(argv: list[str] | None, settings: Settings) -> int:
    parser = argparse.ArgumentParser(prog="mpr aws local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--callback-url", default=None,
                        help="where the handler reaches the MPR server (default MPR_CALLBACK_URL or http://MPR_HOST:MPR_PORT)")
    args = parser.parse_args(argv)
    secret = settings.callback_secret or secrets.token_urlsafe(32)
    callback_url = args.callback_url or settings.callback_url or f"http://{settings.host}:{settings.port}"
    with local_aws(host=args.host, port=args.port, region=settings.aws_region) as aws:
        deployment = deploy_local(aws, settings, callback_secret=secret)
        env = {**deployment.settings, **FAKE_CREDENTIALS, "MPR_CALLBACK_URL": callback_url}
        print(f"\nLocal AWS (moto) is serving at {aws.endpoint}. In another shell:\n")
        print(format_env(env))
        print("MPR_EXECUTOR=aws MPR_STORAGE=s3 make run\n\nCtrl-C stops it (its buckets and executions live in memory).")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping local AWS")
    return 0
