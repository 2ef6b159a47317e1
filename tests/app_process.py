"""A real `python -m backend.cli api` process for the tests that need one (faults, hostile input,
the nginx deployment): a free loopback port, its own media root and data folder, a database URL,
start (waits for /healthz), graceful stop that also kills what is left in its process group.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.awsdeploy.local import free_port
from backend.config import REPO_ROOT, Settings


class AppProcess:
    """One MPR installation (database + media root); `start()` may be called again after a stop or a kill."""

    command = "api"  # the `mpr` subcommand that serves it (tests/faults/mpr_up.py runs `up`)

    def __init__(self, root: Path, database_url: str, *, token: str, callback_secret: str,
                 admin_password: str, workers: int, **env: str):
        self.root = root
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.media_root = root / "media"
        # where the app keeps its files (.in_root, .out_root, .thumbs_root), as Settings lays them out
        self.layout = Settings(media_root=self.media_root)
        for folder in (self.layout.in_root, self.layout.out_root, self.layout.thumbs_root):
            folder.mkdir(parents=True, exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MPR_")},
            "MPR_DATABASE_URL": database_url,
            "MPR_MEDIA_ROOT": str(self.media_root),
            "MPR_DATA_DIR": str(root / "data"),
            "MPR_API_TOKEN": token,
            "MPR_CALLBACK_SECRET": callback_secret,
            "MPR_ADMIN_PASSWORD": admin_password,
            "MPR_WORKERS": str(workers),
            "MPR_LOG_LEVEL": "WARNING",
            "MPR_SHUTDOWN_GRACE": "2",  # a stop with jobs running re-queues them after 2 s, not 30
            "MPR_WATCH_INPUT": "0",  # tests place files and scan; the watch-folder tests pass MPR_WATCH_INPUT="1"
            **env,
        }
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.root / f"app-{self.starts}.log"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def migrate(self) -> None:
        done = subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], cwd=REPO_ROOT, env=self.env,
                              capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            raise RuntimeError(f"mpr migrate exited with {done.returncode}:\n{done.stdout}{done.stderr}")

    def start(self, timeout: float = 90.0) -> None:
        self.starts += 1
        with open(self.log_path, "wb") as log:  # the child keeps its own handle
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", self.command, "--port", str(self.port)],
                cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mpr {self.command} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"mpr {self.command} did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Graceful stop (SIGTERM), then anything left in its process group (FFmpeg) is killed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
