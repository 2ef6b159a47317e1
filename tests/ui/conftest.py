"""Fixtures for the UI tests: one real MPR server per module (serve() on a free port, temp SQLite,
temp media root with the demo clips scanned in) and one headless Debian Chromium.

Screenshots go to test-artifacts/ui/ (gitignored).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import ui_stack
from backend.config import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts" / "ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def start_server(root: Path, *, demo: bool = True, env: dict | None = None):
    port = ui_stack.free_port()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        proc = ui_stack.start(root, port, demo=demo)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        ui_stack.wait_ready(port, proc)
    except Exception:
        ui_stack.stop(proc)
        log = (root / "server.log").read_text(errors="replace")[-4000:]
        raise RuntimeError(f"the UI server did not start:\n{log}") from None
    return proc, port


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, settings root) of a served MPR with the three demo clips."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    root = tmp_path_factory.mktemp("ui-server")
    proc, port = start_server(root)
    yield f"http://127.0.0.1:{port}", root
    ui_stack.stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
