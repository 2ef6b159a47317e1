"""Prepare a throwaway MPR installation for UI tests and benches: temp SQLite DB, temp media root
with the demo clips scanned in, admin user, then `backend.serve.serve()` in a child process.

`sign_in(page, base)` logs a Playwright page in through the login page (as `admin` unless told
otherwise), as a person would; every browser test starts with it.

`python -m tests.ui.ui_stack ROOT PORT [HOST] [--no-demo]` prepares ROOT (once) and serves on PORT
until killed (SIGTERM stops the whole server).
"""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.config import REPO_ROOT, Settings

ADMIN_PASSWORD = "ui-test-admin-pw"
API_TOKEN = "ui-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings_for(root: Path, port: int, host: str = "127.0.0.1") -> Settings:
    root = Path(root)
    return Settings.from_env().with_(
        database_url=f"sqlite:///{root / 'data' / 'mpr.sqlite'}",
        data_dir=root / "data",
        media_root=root / "media",
        storage="local",
        executor="local",
        host=host,
        port=port,
        workers=1,
        api_token=API_TOKEN,
        admin_password=ADMIN_PASSWORD,
        callback_secret="ui-test-callback",
        watch_input=False,  # the stack scans its demo clips itself
    )


async def _prepare(settings: Settings, demo: bool) -> None:
    from backend.api.auth import ensure_admin_user
    from backend.catalog.db import bind_engine
    from backend.catalog.engine import engine_from_url
    from backend.catalog.ingest import scan
    from backend.storage import open_storages

    try:
        from dbmigrate import migrate_async  # under pytest (tests/ is on sys.path)
    except ImportError:
        from tests.dbmigrate import migrate_async  # python -m tests.ui.ui_stack

    await migrate_async(settings.database_url, settings.data_dir)  # `mpr migrate`: schema + builtin presets
    bind_engine(engine_from_url(settings.database_url))
    await ensure_admin_user(settings)
    if demo:
        await scan(open_storages(settings))


def prepare(root: Path, port: int, host: str = "127.0.0.1", demo: bool = True) -> Settings:
    settings = settings_for(root, port, host)
    for folder in (settings.data_dir, settings.in_root, settings.out_root, settings.thumbs_root):
        folder.mkdir(parents=True, exist_ok=True)
    if demo and not any(settings.in_root.iterdir()):
        from backend.media.clips import make_demo_clips

        make_demo_clips(settings.in_root / "demo")
    asyncio.run(_prepare(settings, demo))
    return settings


def start(root: Path, port: int, host: str = "127.0.0.1", *, demo: bool = True,
          log_path: Path | None = None) -> subprocess.Popen:
    """Serve in a child process (its own process group) with its own Reflex web/states folders."""
    log = open(log_path or Path(root) / "server.log", "ab")
    args = [sys.executable, "-m", "tests.ui.ui_stack", str(root), str(port), host]
    if not demo:
        args.append("--no-demo")
    return subprocess.Popen(args, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(port: int, proc: subprocess.Popen | None = None, timeout: float = 240.0) -> float:
    """Seconds until both the page and /healthz answer; raises if the server died or timed out."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            if page.status_code == 200 and health.status_code == 200:
                return time.monotonic() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the server on port {port} was not ready after {timeout:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_and_wait(root: Path, *, demo: bool = True, env: dict | None = None) -> tuple[subprocess.Popen, int]:
    """Start a server on a free port (extra environment for it in `env`) and wait until it answers."""
    port = free_port()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        proc = start(root, port, demo=demo)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        wait_ready(port, proc)
    except Exception:
        stop(proc)
        log = (Path(root) / "server.log").read_text(errors="replace")[-4000:]
        raise RuntimeError(f"the UI server did not start:\n{log}") from None
    return proc, port


def graphql(server, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    """A GraphQL call to the served app with the test API token; `server` is the base URL or a
    (base, root) fixture tuple. Asserts there were no errors and returns `data`."""
    base = server if isinstance(server, str) else server[0]
    response = httpx.post(base + "/graphql", json={"query": query, "variables": variables or {}},
                          headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=timeout)
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


def sign_in(page, base: str, username: str = "admin", password: str = ADMIN_PASSWORD,
            ready: str = "#asset-list") -> None:
    """Open `base`, fill the login page's form and wait until the workspace (`ready`) shows."""
    page.goto(base + "/")
    page.wait_for_selector("#login-username")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_selector(ready)


def on_catalog(root: Path, make_coro):
    """Run `make_coro()` against the installation at `root`'s catalog, in a thread of its own
    (callers may be inside a running event loop); returns its result."""
    import concurrent.futures

    from backend.catalog.db import bind_engine
    from backend.catalog.engine import engine_from_url

    async def main():
        bind_engine(engine_from_url(f"sqlite:///{Path(root) / 'data' / 'mpr.sqlite'}"))
        return await make_coro()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def seed_assets(root: Path, count: int, prefix: str = "Seeded clip") -> None:
    """`count` ready source assets (catalog rows only, no files) in one INSERT, for big-library
    tests and benches: named "<prefix> 000123.mp4" with the numbers shuffled against the ids (so
    newest-first and by-name differ), sizes and durations spread; already analysed (the backfill
    leaves them alone)."""
    from backend.catalog.tables import MediaAsset
    from backend.media.analysis import ANALYSIS_VERSION

    count = int(count)
    step = 7919 if count % 7919 else 7907  # a prime not dividing count: i -> i * step % count shuffles

    async def insert():
        await MediaAsset.raw(
            f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {count - 1}) "
            "INSERT INTO media_asset (filename, storage_area, storage_key, size, duration, status, width, height, "
            "frame_rate, container, video_codec, analysis_version) "
            f"SELECT {{}} || ' ' || substr('000000' || (i * {step} % {count}), -6) || '.mp4', 'in', "
            f"{{}} || '/' || i || '.mp4', 1000000 + (i * 104729 % 50000000), 1.0 + (i * 31 % 3600), 'ready', "
            f"1920, 1080, 25.0, 'mov,mp4', 'h264', {ANALYSIS_VERSION} FROM n",
            prefix, "seeded-" + prefix.replace(" ", "-"))

    on_catalog(root, insert)


def scroll_library_to_end(page, max_wheels: int = 400, wheel_px: int = 4000) -> int:
    """Scroll #asset-list with the mouse wheel until the list has no more pages and its last row is
    in view (the library fetches pages itself as its end nears); returns the wheel turns it took."""
    box = page.locator("#asset-list").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for turn in range(max_wheels):
        page.mouse.wheel(0, wheel_px)
        page.wait_for_timeout(50)
        at_end = page.evaluate("""() => {
            const list = document.getElementById('asset-list');
            return !document.getElementById('asset-more') &&
                   list.scrollTop + list.clientHeight >= list.scrollHeight - 2; }""")
        if at_end:
            return turn + 1
    raise AssertionError(f"the library did not reach its end after {max_wheels} wheel turns")


def add_user(root: Path, username: str, password: str, role: str) -> None:
    """Create a user in the installation at `root` (as `mpr user create NAME --role ROLE` would)."""
    from backend.catalog.accounts import create_user

    on_catalog(root, lambda: create_user(username, password, role))


def main(argv: list[str]) -> int:
    from backend.serve import serve

    demo = "--no-demo" not in argv
    argv = [a for a in argv if a != "--no-demo"]
    root, port = Path(argv[0]), int(argv[1])
    host = argv[2] if len(argv) > 2 else "127.0.0.1"
    settings = prepare(root, port, host, demo=demo)
    return serve(settings, web_dir=root / "web", states_dir=root / "states")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
