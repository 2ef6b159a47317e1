"""On CI a test skipped for a missing tool fails the run; an allowed, engine-specific skip does not.

Runs pytest in a child process on a throwaway test folder with the plugin of tests/skips.py
(the one tests/conftest.py loads), with and without CI=true.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skips import ALLOWED_SKIPS, ENGINE_SPECIFIC

TESTS = Path(__file__).resolve().parent

SAMPLE = '''
import pytest
from skips import engine_specific, missing_tool

def test_runs():
    assert True

def test_needs_a_browser():
    missing_tool("chromium", "apt-get install -y chromium")

def test_postgres_only():
    engine_specific({allowed!r})
'''


def run_pytest(folder: Path, ci: str | None, *files: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "skips", "-p", "no:cacheprovider", "-q", "-rs",
         "--rootdir", str(folder), "-c", str(folder / "pytest.ini"), *files],
        cwd=folder, env=env, capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def sample(tmp_path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    allowed = ALLOWED_SKIPS[0].removeprefix(ENGINE_SPECIFIC)
    (tmp_path / "test_sample.py").write_text(SAMPLE.format(allowed=allowed))
    (tmp_path / "test_engine_only.py").write_text(
        f"from skips import engine_specific\n\ndef test_pg():\n    engine_specific({allowed!r})\n")
    (tmp_path / "test_module_skip.py").write_text(
        "import pytest\n\npytest.importorskip('no_such_module_mpr', reason='missing tool: no_such_module_mpr')\n"
        "\ndef test_never():\n    pass\n")
    return tmp_path


def test_ci_fails_on_a_missing_tool_skip(sample):
    out = run_pytest(sample, "true", "test_sample.py", "test_module_skip.py")
    assert out.returncode == pytest.ExitCode.TESTS_FAILED, out.stdout
    assert "skips CI does not accept" in out.stdout
    listed = out.stdout.split("skips CI does not accept")[1]
    assert "test_sample.py::test_needs_a_browser: missing tool: chromium" in listed
    assert "test_module_skip.py: missing tool: no_such_module_mpr" in listed  # skipped at import
    assert "test_postgres_only" not in listed  # the allowed one
    assert "1 passed, 3 skipped" in out.stdout


def test_ci_accepts_the_allowed_engine_specific_skip(sample):
    out = run_pytest(sample, "true", "test_engine_only.py")
    assert out.returncode == pytest.ExitCode.OK, out.stdout
    assert "1 skipped" in out.stdout and "skips CI does not accept" not in out.stdout


def test_outside_ci_a_skip_stays_a_skip(sample):
    out = run_pytest(sample, None, "test_sample.py")
    assert out.returncode == pytest.ExitCode.OK, out.stdout
    assert "1 passed, 2 skipped" in out.stdout and "skips CI does not accept" not in out.stdout


def test_an_engine_skip_outside_the_list_is_refused(sample):
    (sample / "test_new.py").write_text(
        "from skips import engine_specific\n\ndef test_x():\n    engine_specific('SQLite is small')\n")
    out = run_pytest(sample, None, "test_new.py")
    assert out.returncode == pytest.ExitCode.TESTS_FAILED, out.stdout
    assert "not in tests/skips.py ALLOWED_SKIPS" in out.stdout
