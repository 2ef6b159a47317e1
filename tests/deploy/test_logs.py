"""Structured logs in production: JSON lines, `job_id` on the lines about a job (from
backend.jobs), and MPR_LOG_LEVEL deciding what is written.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from backend.catalog.tables import MediaAsset, TranscodeJob
from backend.config import REPO_ROOT
from backend.jobs.lifecycle import transition
from backend.logs import configure_logging


@pytest.fixture
def json_logs():
    """configure_logging as the CLI does; the root logger's handlers and level restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield configure_logging
    root.handlers[:], level = saved
    root.setLevel(level)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def test_job_lines_carry_the_job_id(db, json_logs, capsys):
    json_logs("INFO")
    asset = (await MediaAsset.insert(MediaAsset(filename="a.mp4", storage_key="a.mp4", status="ready"))
             .returning(MediaAsset.id))[0]["id"]
    job_id = (await TranscodeJob.insert(TranscodeJob(source=asset, status="queued"))
              .returning(TranscodeJob.id))[0]["id"]
    assert await transition(job_id, "running", "picked up by the test")
    lines = [entry for entry in json_lines(capsys.readouterr().err) if entry["logger"].startswith("mpr.jobs")]
    assert lines, "backend.jobs logged nothing about the transition"
    line = lines[-1]
    assert line["job_id"] == job_id and line["level"] == "info"
    assert "queued → running" in line["msg"] and line["ts"].endswith("Z")


def _log_once(level: str | None) -> list[dict]:
    code = ("import logging; from backend.cli import _configure_logging; from backend.config import Settings; "
            "_configure_logging(Settings.from_env()); log = logging.getLogger('mpr.jobs.test'); "
            "log.debug('debug line', extra={'job_id': 7}); log.info('info line', extra={'job_id': 7}); "
            "log.warning('warning line', extra={'job_id': 7})")
    env = {k: v for k, v in os.environ.items() if k != "MPR_LOG_LEVEL"}
    if level is not None:
        env["MPR_LOG_LEVEL"] = level
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json_lines(done.stderr)


@pytest.mark.parametrize("level,expected", [
    (None, ["info line", "warning line"]),  # INFO by default
    ("WARNING", ["warning line"]),
    ("warning", ["warning line"]),
    ("DEBUG", ["debug line", "info line", "warning line"]),
])
def test_log_level_is_honoured(level, expected):
    lines = _log_once(level)
    assert [entry["msg"] for entry in lines] == expected
    assert all(entry["job_id"] == 7 for entry in lines)
