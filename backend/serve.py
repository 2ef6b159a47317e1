"""`serve(settings)`: run the Reflex timeline UI in prod mode with the API on the same port (`mpr up`).

It starts `python -m reflex run --env prod` in the repository root, bound to settings.host and
settings.port (frontend port = backend port). The UI process learns the settings through the same
MPR_* environment variables `Settings.from_env()` reads; the Litestar app and the job executor are
mounted inside it by ui/mount.py. Bun comes from npm into .tools/ (Reflex cannot download it
here); telemetry and the latest-version check are off.

The process tree and who stops whom (docs/process-supervision.md):

    mpr up ─► Reflex/granian supervisor ─► granian worker (Litestar, executor) ─► FFmpeg

* No orphans. Reflex runs as a child, not in this process: Reflex's CLI owns the build, the
  signal handlers and granian's worker pool, and `mpr up` has to outlive it to report how it
  ended, stop it on a deadline and re-queue what it left. Every level asks the kernel to kill it
  when its parent dies (`PR_SET_PDEATHSIG`, backend.lifeline): the supervisor in `preexec_fn`
  here, the worker in ui/mount.py's lifespan, FFmpeg in backend.media.runner. A SIGKILL of
  `mpr up` therefore takes the whole tree down, listener and FFmpeg included.
* The other way round: if the server exits while nobody asked it to, `serve` logs it and returns
  non-zero, so `mpr up` never stays alive with nothing serving (systemd restarts it).
* Graceful stop. The first SIGINT/SIGTERM goes to the supervisor only (not its process group:
  FFmpeg must not get it); granian passes it to its worker, whose shutdown gives running jobs
  MPR_SHUTDOWN_GRACE seconds and re-queues the rest without spending an attempt. A second signal,
  or the server still running MPR_SHUTDOWN_GRACE + STOP_MARGIN_SECONDS later, kills the whole
  group at once; the jobs its workers held are then re-queued from here (`release_stopped`).
* One log format. The server's stdout and stderr come through a pipe: Reflex and granian write
  JSON records (REFLEX_LOG_JSON; this process plays Reflex's output supervisor), MPR's loggers
  in the worker write MPR's own lines, and `backend.logs.relay_line` writes all of them again in
  MPR_LOG_FORMAT.
* The port is checked before anything is built (`port_in_use_message`).
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from backend.config import REPO_ROOT, Settings
from backend.lifeline import die_with
from backend.logs import relay_line

log = logging.getLogger("mpr.serve")

BUN_VERSION = "1.4.5"
TOOLS_DIR = REPO_ROOT / ".tools"
BUN_PATH = TOOLS_DIR / "node_modules" / "bun" / "bin" / "bun.exe"
STOP_MARGIN_SECONDS = 15  # beyond MPR_SHUTDOWN_GRACE: FFmpeg's own stop, the database, granian


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
    "MPR_S3_OUT_BUCKET", "AWS_ENDPOINT_URL", "MPR_STATE_MACHINE_ARN", "MPR_CHUNKED_STATE_MACHINE_ARN",
    "MPR_LADDER_STATE_MACHINE_ARN", "MPR_SEQUENCE_STATE_MACHINE_ARN", "MPR_CALLBACK_URL",
    "MPR_CALLBACK_SECRET", "MPR_API_TOKEN", "MPR_ADMIN_PASSWORD", "MPR_WORKERS", "MPR_DB_POOL_SIZE", "MPR_STALL_SECONDS",
    "MPR_MAX_ATTEMPTS", "MPR_MAX_UPLOAD_BYTES", "MPR_HOST", "MPR_PORT", "MPR_FFMPEG", "MPR_FFPROBE",
    "MPR_LOG_LEVEL", "MPR_LOG_FORMAT", "MPR_SHUTDOWN_GRACE",
    "MPR_LOG_LEVEL", "MPR_PUBLIC_URL", "MPR_ALLOWED_HOSTS", "MPR_MAX_PIXELS", "MPR_MAX_DURATION",
    "MPR_FFMPEG_MEMORY_MB", "MPR_PROBE_MEMORY_MB", "MPR_PROBE_TIMEOUT", "MPR_INGEST_CONCURRENCY",
    "MPR_WEBHOOK_TIMEOUT", "MPR_WEBHOOK_CONCURRENCY", "MPR_WEBHOOK_RETRY_BASE", "MPR_WEBHOOK_RETRY_WINDOW",
    "MPR_S3_EVENTS_QUEUE_URL", "MPR_WATCH_INPUT", "MPR_WATCH_SETTLE_SECONDS", "MPR_WATCH_RECONCILE_SECONDS",
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
        "MPR_LADDER_STATE_MACHINE_ARN": settings.ladder_state_machine_arn,
        "MPR_SEQUENCE_STATE_MACHINE_ARN": settings.sequence_state_machine_arn,
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
        "MPR_LOG_FORMAT": settings.log_format,
        "MPR_SHUTDOWN_GRACE": str(settings.shutdown_grace),
        "MPR_PUBLIC_URL": settings.public_url,
        "MPR_ALLOWED_HOSTS": settings.allowed_hosts,
        "MPR_MAX_PIXELS": str(settings.max_pixels),
        "MPR_MAX_DURATION": str(settings.max_duration),
        "MPR_FFMPEG_MEMORY_MB": str(settings.ffmpeg_memory_mb),
        "MPR_PROBE_MEMORY_MB": str(settings.probe_memory_mb),
        "MPR_PROBE_TIMEOUT": str(settings.probe_timeout),
        "MPR_INGEST_CONCURRENCY": str(settings.ingest_concurrency),
        "MPR_WEBHOOK_TIMEOUT": repr(settings.webhook_timeout),
        "MPR_WEBHOOK_CONCURRENCY": str(settings.webhook_concurrency),
        "MPR_WEBHOOK_RETRY_BASE": repr(settings.webhook_retry_base),
        "MPR_WEBHOOK_RETRY_WINDOW": repr(settings.webhook_retry_window),
        "MPR_S3_EVENTS_QUEUE_URL": settings.s3_events_queue_url,
        "MPR_WATCH_INPUT": "1" if settings.watch_input else "0",
        "MPR_WATCH_SETTLE_SECONDS": repr(settings.watch_settle_seconds),
        "MPR_WATCH_RECONCILE_SECONDS": str(settings.watch_reconcile_seconds),
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
        # Reflex and granian log JSON records; this process relays them (Reflex would otherwise
        # start one more process of its own to do that)
        "REFLEX_LOG_JSON": "true",
        "REFLEX_OUTPUT_SUPERVISED": str(os.getpid()),
        "PYTHONIOENCODING": "utf-8",
    })
    if web_dir is not None:
        _seed_web_dir(Path(web_dir))
        env["REFLEX_WEB_WORKDIR"] = str(web_dir)
    if states_dir is not None:
        env["REFLEX_STATES_WORKDIR"] = str(states_dir)
    return env


def _listeners(port: int) -> list[psutil.Process]:
    pids = set()
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                pids.add(conn.pid)
    except (psutil.AccessDenied, OSError):
        return []
    procs = []
    for pid in sorted(pids):
        try:
            procs.append(psutil.Process(pid))
        except psutil.Error:
            pass
    return [p for p in procs if not any(_ppid(p) == q.pid for q in procs)] or procs  # the top of a tree


def _ppid(proc: psutil.Process) -> int | None:
    try:
        return proc.ppid()
    except psutil.Error:
        return None


def _describe(proc: psutil.Process) -> tuple[str, bool, psutil.Process | None]:
    """(its command line, whether it is an MPR server of this checkout, the `mpr up` above it)."""
    try:
        cmd = " ".join(" ".join(proc.cmdline()).split()) or proc.name()
    except psutil.Error:
        cmd = "?"
    try:
        ours = Path(proc.cwd()).resolve() == REPO_ROOT.resolve()
    except (psutil.Error, OSError):
        ours = False
    mpr_markers = ("ui.ui:app", "reflex", "backend.cli", "mpr ")
    ours = ours and any(m in cmd for m in mpr_markers)
    starter = None
    try:
        for parent in proc.parents():
            pcmd = " ".join(parent.cmdline())
            if "backend.cli up" in pcmd or "mpr up" in pcmd or pcmd.endswith("/mpr up"):
                starter = parent
                break
    except psutil.Error:
        pass
    return cmd[:160], ours, starter


def port_in_use_message(host: str, port: int) -> str | None:
    """None when `host:port` can be bound; else one line naming the process that holds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
            return None
        except OSError as exc:
            reason = exc.strerror or str(exc)
    where = f"port {port} on {host} is in use"
    holders = _listeners(port)
    if not holders:
        return f"{where} ({reason}) by a process this user cannot see; choose another port (MPR_PORT or --port)"
    proc = holders[0]
    cmd, ours, starter = _describe(proc)
    if ours:
        what = f"an MPR server of this checkout ({REPO_ROOT})"
        if starter is not None:
            what += f" started by `mpr up` pid {starter.pid}"
        stop = f"stop it (kill {starter.pid if starter else proc.pid})"
    else:
        what = "not an MPR server of this checkout"
        stop = "stop it"
    return f"{where} by pid {proc.pid} ({cmd}), {what}; {stop} or choose another port (MPR_PORT or --port)"


_RELAY_LOCK = threading.Lock()  # two relays (stdout, stderr), one output: whole lines only


def _relay(stream, fmt: str, level: str) -> None:
    """Copy the server's output to stderr in MPR's log format until the pipe closes."""
    out = sys.stderr
    for raw in iter(stream.readline, b""):
        line = relay_line(raw.decode("utf-8", "replace"), fmt, level=level)
        if line is not None:
            with _RELAY_LOCK:
                try:
                    out.write(line + "\n")
                    out.flush()
                except (OSError, ValueError):
                    pass
    stream.close()


def _tree_pids(proc: subprocess.Popen) -> set[int]:
    try:
        return {p.pid for p in psutil.Process(proc.pid).children(recursive=True)} | {proc.pid}
    except psutil.Error:
        return {proc.pid}


def _release_jobs(settings: Settings, pids: set[int]) -> None:
    """Jobs the killed workers held go back to the queue, attempt unspent (the server was stopped)."""
    try:
        from backend.catalog.db import bind_engine
        from backend.catalog.engine import engine_from_url
        from backend.jobs.recovery import release_stopped

        bind_engine(engine_from_url(settings.database_url))
        moved = asyncio.run(release_stopped(pids))
        if moved:
            log.warning("re-queued job(s) %s: server stopped", ", ".join(map(str, moved)))
    except Exception:  # noqa: BLE001 - the next start recovers them anyway (as a new attempt)
        log.exception("could not re-queue the jobs of the stopped server")


def serve(settings: Settings, *, web_dir: Path | None = None, states_dir: Path | None = None) -> int:
    """Serve UI + API on settings.host:settings.port until stopped; returns the exit code for `mpr up`.

    0 after a requested stop (a second signal's immediate stop included); non-zero when the server
    exited by itself, could not start, or did not stop within the grace and had to be killed. `web_dir`/`states_dir` put Reflex's build and session folders
    elsewhere (tests use temporary ones so they never rebuild the .web a running instance serves from).
    Call it from the main thread: the server is bound to the life of the thread that starts it.
    """
    busy = port_in_use_message(settings.host, settings.port)
    if busy:
        log.error(busy)
        return 2
    proc = subprocess.Popen(command(settings), cwd=REPO_ROOT, env=server_env(settings, web_dir, states_dir),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=die_with(os.getpid()))
    relays = [threading.Thread(target=_relay, args=(stream, settings.log_format, level), daemon=True,
                               name=f"mpr-serve-relay-{level}")
              for stream, level in ((proc.stdout, "info"), (proc.stderr, "warning"))]
    for relay in relays:
        relay.start()
    requests: list[int] = []
    wake = threading.Event()

    def on_signal(signum, _frame) -> None:
        requests.append(signum)
        wake.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    deadline = None
    late = False  # killed because the stop took longer than the grace + margin
    try:
        while proc.poll() is None:
            wake.wait(0.2)
            wake.clear()
            if len(requests) == 1 and deadline is None:
                deadline = time.monotonic() + max(0, settings.shutdown_grace) + STOP_MARGIN_SECONDS
                log.info("stopping: running jobs get up to %d s to finish (Ctrl-C again to stop now)",
                         settings.shutdown_grace)
                _signal(proc, signal.SIGTERM)
            elif len(requests) > 1 or (deadline is not None and time.monotonic() > deadline):
                late = len(requests) == 1
                log.warning("the server did not stop in time: killing it" if late else "stopping now")
                pids = _tree_pids(proc)
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
                _wait_gone(pids)
                _release_jobs(settings, pids)
                break
    finally:
        if proc.poll() is None:  # an exception here: never leave the server behind
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for relay in relays:
            relay.join(2)
    code = proc.returncode
    if requests:
        if late:
            return 1
        return 0 if code == 0 or len(requests) > 1 else _exit_code(code)
    log.error("the Reflex server exited by itself (%s): MPR is not serving any more", _how(code))
    return _exit_code(code) or 1


def _wait_gone(pids: set[int], timeout: float = 5.0) -> None:
    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=timeout)


def _how(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _exit_code(code: int) -> int:
    return 128 - code if code < 0 else code


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
