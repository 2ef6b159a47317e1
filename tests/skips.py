"""Skips the suite may make, and a pytest plugin that fails a CI run on any other skip.

`make test` installs every tool the suite needs (Chromium, nginx, PostgreSQL, FFmpeg, Python
packages), so on CI (`CI=true`, which `.ci/run` exports) a test that skipped because a tool was
missing is a browser or deploy suite that did not run, not a pass. Tests skip through
`missing_tool(...)` (reason "missing tool: …") or `engine_specific(...)` (reason
"engine-specific: …"); at the end of a CI run every skip whose reason is not in ALLOWED_SKIPS is
listed and the run exits non-zero. Outside CI skips stay skips (a laptop without nginx).

ALLOWED_SKIPS is the one list of accepted skips (documented in docs/testing.md, section Skips):
tests that run once per database engine (the `db` fixture) of a property only one engine has.
tests/conftest.py loads this plugin.
"""
from __future__ import annotations

import os

import pytest

MISSING_TOOL = "missing tool: "
ENGINE_SPECIFIC = "engine-specific: "

ALLOWED_SKIPS = (
    ENGINE_SPECIFIC + "SKIP LOCKED claiming across processes is a PostgreSQL property",
    ENGINE_SPECIFIC + "the asyncpg connection pool exists on PostgreSQL only",
    ENGINE_SPECIFIC + "row locks with SKIP LOCKED are a PostgreSQL property; SQLite serialises the whole UPDATE",
)

_skipped: list[tuple[str, str]] = []  # (test id, reason) of this run


def missing_tool(tool: str, how: str) -> None:
    """Skip because `tool` is not installed here; `how` says how to get it. Fails a CI run."""
    pytest.skip(f"{MISSING_TOOL}{tool} ({how})")


def engine_specific(reason: str) -> None:
    """Skip the parametrization of a `db` test whose engine lacks the property; `reason` must be
    in ALLOWED_SKIPS (a new one is added there and to docs/testing.md)."""
    full = ENGINE_SPECIFIC + reason
    assert full in ALLOWED_SKIPS, f"engine-specific skip not in tests/skips.py ALLOWED_SKIPS: {reason!r}"
    pytest.skip(full)


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _reason(report) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def forbidden_skips() -> list[tuple[str, str]]:
    return [(nodeid, reason) for nodeid, reason in _skipped if reason not in ALLOWED_SKIPS]


def pytest_runtest_logreport(report) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append((report.nodeid, _reason(report)))


def pytest_collectreport(report) -> None:
    """A whole module skipped at import (pytest.importorskip, a module-level skip)."""
    if report.skipped:
        _skipped.append((report.nodeid, _reason(report)))


def pytest_terminal_summary(terminalreporter) -> None:
    bad = forbidden_skips()
    if not bad or not on_ci():
        return
    terminalreporter.section("skips CI does not accept", sep="=", red=True, bold=True)
    terminalreporter.line("CI=true: these tests did not run. Install what they need (make test does), or, for a")
    terminalreporter.line("property one database engine lacks, add the reason to tests/skips.py ALLOWED_SKIPS.")
    for nodeid, reason in bad:
        terminalreporter.line(f"  {nodeid}: {reason}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session) -> None:
    if on_ci() and forbidden_skips() and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
