"""Running the real FFmpeg Lambda handler (lambda/handler.py) inside moto, without Docker.

moto's Docker-less Lambda only echoes its input. `real_handler_in_moto()` replaces
`LambdaSimpleBackend.invoke` so that every invocation — including the ones the Step Functions
interpreter makes while it executes sfn/transcode.asl.json — calls the handler in-process, with the
function's configured environment and a context whose deadline is the function's Timeout.
An exception becomes a Lambda function error (`X-Amz-Function-Error: Unhandled` and the
`{"errorType", "errorMessage"}` payload), exactly what a Catch in the state machine sees on AWS.
Used by `mpr aws local` and the AWS tests.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
import traceback
import uuid
from contextlib import contextmanager
from types import ModuleType
from typing import Callable, Iterator, Mapping

from backend.config import REPO_ROOT

HANDLER_PATH = REPO_ROOT / "lambda" / "handler.py"
_loaded: ModuleType | None = None
_lock = threading.Lock()


def load_handler() -> ModuleType:
    """Import lambda/handler.py ("lambda" is a keyword, so not as a package) once per process."""
    global _loaded
    with _lock:
        if _loaded is None:
            spec = importlib.util.spec_from_file_location("mpr_lambda_handler", HANDLER_PATH)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # dataclasses look their module up there
            spec.loader.exec_module(module)
            _loaded = module
        return _loaded


class LambdaContext:
    """The parts of the Lambda context object the handler uses."""

    def __init__(self, function_name: str, timeout_s: float, memory_mb: int = 3008):
        self.function_name = function_name
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function_name}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def error_payload(exc: BaseException) -> dict:
    return {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


@contextmanager
def real_handler_in_moto(
    env: Mapping[str, str] | None = None,
    *,
    before_invoke: Callable[[dict], None] | None = None,
) -> Iterator[list[dict]]:
    """Patch moto so Lambda invocations run the real handler; yields a list that gets one
    {"event", then "result" or "error"} dict per invocation.

    `env` is laid over the process environment and the function's own variables (e.g. the
    endpoint and credentials for S3). `before_invoke(event)` runs first (tests use it to hold
    an invocation while they cancel the job, or to reroute its callbacks).
    """
    from moto.awslambda_simple.models import LambdaSimpleBackend

    module = load_handler()
    seen: list[dict] = []
    original = LambdaSimpleBackend.invoke

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        fn = self.get_function(function_name, qualifier)
        event = json.loads(body) if body else {}
        record = {"event": event}
        seen.append(record)
        run_env = {**os.environ, **(fn.environment_vars or {}), **(env or {})}
        context = LambdaContext(fn.function_name, float(fn.timeout or 3), int(fn.memory_size or 128))
        try:
            if before_invoke is not None:
                before_invoke(event)
            result = module.process(event, context, run_env)
            payload = json.dumps(result)
            record["result"] = result
        except Exception as exc:  # noqa: BLE001 — every error is the function's error, as on AWS
            response_headers["x-amz-function-error"] = "Unhandled"
            record["error"] = error_payload(exc)
            payload = json.dumps(record["error"])
        data = payload.encode()
        response_headers["Content-Length"] = str(len(data))
        return data

    LambdaSimpleBackend.invoke = invoke
    try:
        yield seen
    finally:
        LambdaSimpleBackend.invoke = original
