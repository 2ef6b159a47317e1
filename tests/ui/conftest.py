"""Fixtures for the UI tests: one real MPR server per module (serve() on a free port, temp SQLite,
temp media root with the demo clips scanned in) and one headless Debian Chromium.

Screenshots go to test-artifacts/ui/ (gitignored).
"""
from __future__ import annotations

from pathlib import Path

import pytest

import ui_stack
from backend.config import REPO_ROOT
from skips import missing_tool

ARTIFACTS = REPO_ROOT / "test-artifacts" / "ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, settings root) of a served MPR with the three demo clips."""
    root = tmp_path_factory.mktemp("ui-server")
    proc, port = ui_stack.start_and_wait(root)
    yield f"http://127.0.0.1:{port}", root
    ui_stack.stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        missing_tool("chromium", "apt-get install -y chromium; make test installs it")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
