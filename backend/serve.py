"""`serve(settings)`: run the Reflex timeline UI in prod mode with the API on the same port (`mpr up`).

It starts `python -m reflex run --env prod` in the repository root, bound to settings.host and
settings.port (frontend port = backend port), and blocks until that stops or this process gets
SIGINT/SIGTERM (then the whole server process group is stopped). The UI process learns the
settings through the same MPR_* environment variables `Settings.from_env()` reads; the Litestar
app is mounted inside it by ui/mount.py. Bun comes from npm into .tools/ (Reflex cannot download
it here); telemetry and the latest-version check are off.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from backend.config import REPO_ROOT, Settings

BUN_VERSION = "1.4.5"
TOOLS_DIR = REPO_ROOT / ".tools"
BUN_PATH = TOOLS_DIR / "node_modules" / "bun" / "bin" / "bun.exe"
STOP_GRACE_SECONDS = 10


def ensure_bun() -> Path:
    """The bun binary Reflex builds with; installed from npm into .tools/ when missing."""
    if not BUN_PATH.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed once to install bun for the UI build (npm install bun)")
        subprocess.run([npm, "install", "--prefix", str(TOOLS_DIR), f"bun@{BUN_VERSION}"],
                       check=True, cwd=REPO_ROOT)
        if not BUN_PATH.exists():
            raise RuntimeError(f"npm installed bun but {BUN_PATH} is missing")
    return BUN_PATH


SETTINGS_VARS = (
    "MPR_DATABASE_URL", "MPR_DATA_DIR", "MPR_MEDIA_ROOT", "MPR_STORAGE", "MPR_EXECUTOR", "MPR_S3_IN_BUCKET",
    "MPR_S3_OUT_BUCKET", "AWS_ENDPOINT_URL", "MPR_STATE_MACHINE_ARN", "MPR_CHUNKED_STATE_MACHINE_ARN", "MPR_CALLBACK_URL",
    "MPR_CALLBACK_SECRET", "MPR_API_TOKEN", "MPR_ADMIN_PASSWORD", "MPR_WORKERS", "MPR_DB_POOL_SIZE", "MPR_STALL_SECONDS",
    "MPR_MAX_ATTEMPTS", "MPR_MAX_UPLOAD_BYTES", "MPR_HOST", "MPR_PORT", "MPR_FFMPEG", "MPR_FFPROBE",
    "MPR_LOG_LEVEL", "MPR_PUBLIC_URL", "MPR_ALLOWED_HOSTS", "MPR_MAX_PIXELS", "MPR_MAX_DURATION",
    "MPR_FFMPEG_MEMORY_MB", "MPR_PROBE_MEMORY_MB", "MPR_PROBE_TIMEOUT", "MPR_INGEST_CONCURRENCY",
)


def settings_env(settings: Settings) -> dict[str, str]:
    """The MPR_* variables that make `Settings.from_env()` in the UI process equal `settings`."""
    values = {
        "MPR_DATABASE_URL": settings.database_url,
        "MPR_DATA_DIR": str(settings.data_dir),
        "MPR_MEDIA_ROOT": str(settings.media_root),
        "MPR_STORAGE": settings.storage,
        "MPR_EXECUTOR": settings.executor,
        "MPR_S3_IN_BUCKET": settings.s3_in_bucket,
        "MPR_S3_OUT_BUCKET": settings.s3_out_bucket,
        "AWS_ENDPOINT_URL": settings.aws_endpoint_url,
        "AWS_DEFAULT_REGION": settings.aws_region,
        "MPR_STATE_MACHINE_ARN": settings.state_machine_arn,
        "MPR_CHUNKED_STATE_MACHINE_ARN": settings.chunked_state_machine_arn,
        "MPR_CALLBACK_URL": settings.callback_url,
        "MPR_CALLBACK_SECRET": settings.callback_secret,
        "MPR_API_TOKEN": settings.api_token,
        "MPR_ADMIN_PASSWORD": settings.admin_password,
        "MPR_WORKERS": str(settings.workers),
        "MPR_DB_POOL_SIZE": str(settings.db_pool_size),
        "MPR_STALL_SECONDS": str(settings.stall_seconds),
        "MPR_MAX_ATTEMPTS": str(settings.max_attempts),
        "MPR_MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
        "MPR_HOST": settings.host,
        "MPR_PORT": str(settings.port),
        "MPR_FFMPEG": settings.ffmpeg,
        "MPR_FFPROBE": settings.ffprobe,
        "MPR_LOG_LEVEL": settings.log_level,
        "MPR_PUBLIC_URL": settings.public_url,
        "MPR_ALLOWED_HOSTS": settings.allowed_hosts,
        "MPR_MAX_PIXELS": str(settings.max_pixels),
        "MPR_MAX_DURATION": str(settings.max_duration),
        "MPR_FFMPEG_MEMORY_MB": str(settings.ffmpeg_memory_mb),
        "MPR_PROBE_MEMORY_MB": str(settings.probe_memory_mb),
        "MPR_PROBE_TIMEOUT": str(settings.probe_timeout),
        "MPR_INGEST_CONCURRENCY": str(settings.ingest_concurrency),
    }
    return {k: v for k, v in values.items() if v not in (None, "")}


def _seed_web_dir(target: Path) -> None:
    """A fresh web dir starts from the repo's .web: node_modules hard-linked, the rest copied."""
    source = REPO_ROOT / ".web"
    if target.exists() or not (source / "node_modules").is_dir():
        return
    target.mkdir(parents=True)
    for item in source.iterdir():
        if item.name in ("build", ".vite"):
            continue
        dest = target / item.name
        if item.is_dir():
            link = item.name == "node_modules"
            shutil.copytree(item, dest, symlinks=True, copy_function=os.link if link else shutil.copy2)
        else:
            shutil.copy2(item, dest)


def command(settings: Settings) -> list[str]:
    port = str(settings.port)
    return [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port",
            "--frontend-port", port, "--backend-port", port, "--backend-host", settings.host,
            "--loglevel", "warning"]


def server_env(settings: Settings, web_dir: Path | None = None, states_dir: Path | None = None) -> dict[str, str]:
    dropped = set(SETTINGS_VARS) | {"REFLEX_FRONTEND_PORT", "REFLEX_BACKEND_PORT"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(settings_env(settings))
    if settings.public_url and not env.get("REFLEX_API_URL"):  # the UI build points browsers there
        env["REFLEX_API_URL"] = settings.public_url.rstrip("/")
    env.update({
        "REFLEX_BUN_PATH": str(ensure_bun()),
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "TELEMETRY_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
    })
    if web_dir is not None:
        _seed_web_dir(Path(web_dir))
        env["REFLEX_WEB_WORKDIR"] = str(web_dir)
    if states_dir is not None:
        env["REFLEX_STATES_WORKDIR"] = str(states_dir)
    return env


def serve(settings: Settings, *, web_dir: Path | None = None, states_dir: Path | None = None) -> int:
    """Serve UI + API on settings.host:settings.port until stopped; returns the server's exit code.

    `web_dir`/`states_dir` put Reflex's build and session folders elsewhere (tests use temporary
    ones so they never rebuild the .web a running instance serves from).
    """
    proc = subprocess.Popen(command(settings), cwd=REPO_ROOT, env=server_env(settings, web_dir, states_dir),
                            start_new_session=True)
    stopping = threading.Event()

    def stop(*_args) -> None:
        if stopping.is_set():
            return
        stopping.set()
        _signal_group(proc, signal.SIGTERM)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, stop)
    try:
        while True:
            try:
                return proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if stopping.is_set():
                    try:
                        return proc.wait(timeout=STOP_GRACE_SECONDS)
                    except subprocess.TimeoutExpired:
                        _signal_group(proc, signal.SIGKILL)
                        return proc.wait()
    finally:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
