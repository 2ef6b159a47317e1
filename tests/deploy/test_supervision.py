"""The quick parts of process supervision (docs/process-supervision.md): the one log format that
`mpr up` relays the Reflex server's output in, the one-line port-in-use refusal, zombies counting
as dead, the new settings, and deploy/mpr.service.
"""
from __future__ import annotations

import configparser
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from backend.config import REPO_ROOT, Settings
from backend.lifeline import pid_alive
from backend.logs import configure_logging, relay_line
from backend.serve import port_in_use_message, server_env, settings_env

UNIT = REPO_ROOT / "deploy" / "mpr.service"


# ------------------------------------------------------------------ one log format
def test_reflex_and_granian_records_take_mpr_field_names():
    reflex = json.dumps({"timestamp": "2026-11-30T12:47:59.939512+00:00", "level": "warning",
                         "logger": "_granian", "message": "Unexpected exit from worker-1",
                         "location": "/x/common.py:61", "pid": 42, "exception": "Traceback …"})
    entry = json.loads(relay_line(reflex + "\n"))
    assert entry == {"ts": "2026-11-30T12:47:59.939Z", "level": "warning", "logger": "_granian",
                     "msg": "Unexpected exit from worker-1", "pid": 42, "exc": "Traceback …"}


def test_mpr_lines_pass_and_plain_lines_become_records():
    ours = json.dumps({"ts": "2026-11-30T12:00:00.000Z", "level": "info", "logger": "mpr.jobs", "msg": "x", "job_id": 3})
    assert relay_line(ours + "\n") == ours
    plain = json.loads(relay_line("vite v6.0 building for production...\r\n"))
    assert (plain["level"], plain["logger"], plain["msg"]) == ("info", "mpr.server", "vite v6.0 building for production...")
    assert plain["ts"].endswith("Z")
    assert json.loads(relay_line("thread 'tokio-rt-worker' panicked", level="warning"))["level"] == "warning"  # stderr
    assert relay_line("   \n") is None
    assert relay_line("{not json\n") is not None and json.loads(relay_line("{not json\n"))["msg"] == "{not json"


def test_text_format_renders_every_source_the_same_way():
    reflex = json.dumps({"timestamp": "2026-11-30T12:47:59+00:00", "level": "info", "logger": "reflex.console",
                         "message": "App running", "pid": 7})
    assert relay_line(reflex, "text") == "2026-11-30T12:47:59.000Z INFO    reflex.console: App running  [pid=7]"
    assert relay_line("plain tool output", "text") == "plain tool output"


@pytest.fixture
def root_logging():
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    adopted = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate)
               for name in ("uvicorn", "uvicorn.error", "_granian", "litestar")}
    yield
    root.handlers[:], level = saved
    root.setLevel(level)
    for name, (handlers, propagate) in adopted.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate


def test_library_loggers_write_through_mpr_handler(root_logging, capsys):
    granian = logging.getLogger("_granian")
    granian.addHandler(logging.StreamHandler(sys.stdout))  # what granian's own config does
    granian.propagate = False
    configure_logging("INFO", "text")
    granian.info("Spawning worker-1 with PID: 1")
    logging.getLogger("mpr.jobs").warning("job line", extra={"job_id": 9})
    out = capsys.readouterr()
    assert out.out == ""
    lines = out.err.splitlines()
    assert lines[0].endswith("INFO    _granian: Spawning worker-1 with PID: 1")
    assert lines[1].endswith("WARNING mpr.jobs: job line  [job_id=9]")


def test_settings_for_format_and_grace(monkeypatch):
    monkeypatch.setenv("MPR_LOG_FORMAT", "TEXT")
    monkeypatch.setenv("MPR_SHUTDOWN_GRACE", "7")
    settings = Settings.from_env()
    assert (settings.log_format, settings.shutdown_grace) == ("text", 7)
    env = server_env(settings)
    assert env["MPR_LOG_FORMAT"] == "text" and env["MPR_SHUTDOWN_GRACE"] == "7"
    assert env["REFLEX_LOG_JSON"] == "true" and env["REFLEX_OUTPUT_SUPERVISED"] == str(os.getpid())
    assert settings_env(settings)["MPR_SHUTDOWN_GRACE"] == "7"
    monkeypatch.setenv("MPR_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="MPR_LOG_FORMAT"):
        Settings.from_env()


# ------------------------------------------------------------------ port in use
@pytest.fixture
def held_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_port_message_names_the_holder(held_port):
    message = port_in_use_message("127.0.0.1", held_port)
    assert message.startswith(f"port {held_port} on 127.0.0.1 is in use by pid {os.getpid()} (")
    assert "not an MPR server of this checkout" in message and "\n" not in message
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    assert port_in_use_message("127.0.0.1", port) is None


def test_mpr_up_refuses_a_taken_port_in_one_line_before_preparing(held_port, tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MPR_")},
           "MPR_DATA_DIR": str(tmp_path / "data"), "MPR_MEDIA_ROOT": str(tmp_path / "media")}
    done = subprocess.run([sys.executable, "-m", "backend.cli", "up", "--port", str(held_port)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(f"mpr up: port {held_port} on 127.0.0.1 is in use by pid {os.getpid()}")
    assert not (tmp_path / "data").exists() and not (tmp_path / "media").exists()


# ------------------------------------------------------------------ lifeline
def test_a_zombie_counts_as_dead():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert pid_alive(child.pid)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(child.pid):  # killed and not reaped yet: a zombie
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert child.poll() is not None  # only now reaped
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


# ------------------------------------------------------------------ systemd unit
def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string(UNIT.read_text())
    return parser


def test_systemd_unit_restarts_failures_and_stops_after_the_grace():
    service = _unit()["Service"]
    assert service["Restart"] == "on-failure" and service["KillMode"] == "mixed"
    assert service["ExecStart"].endswith("mpr up") and service["ExecStartPre"].endswith("mpr migrate")
    stop = int(service["TimeoutStopSec"])
    from backend.serve import STOP_MARGIN_SECONDS

    assert stop > Settings().shutdown_grace + STOP_MARGIN_SECONDS
    assert "process-supervision.md" in UNIT.read_text()
    assert (REPO_ROOT / "docs" / "process-supervision.md").exists()


def test_systemd_unit_passes_systemd_analyze(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing (Debian: apt-get install systemd)")
    env_file = tmp_path / "mpr.env"
    env_file.write_text("MPR_PORT=8000\n")
    unit = tmp_path / "mpr.service"
    unit.write_text(UNIT.read_text().replace("/opt/mpr", str(REPO_ROOT)).replace("/etc/mpr/mpr.env", str(env_file)))
    if not (REPO_ROOT / ".venv" / "bin" / "mpr").exists():
        unit.write_text(unit.read_text().replace(f"{REPO_ROOT}/.venv/bin/mpr", f"{sys.executable} -m backend.cli"))
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
