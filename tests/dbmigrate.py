"""Test databases are built the way users build theirs: `mpr migrate`, the real Piccolo migrations.

A module (not a conftest) so any test folder can import it. `migrate` runs `python -m
backend.cli migrate` — the very command `mpr migrate` and `mpr up` run — against `url`, so a
migration that disagrees with the tables breaks every test that touches the database, not only
tests/test_migrations.py. `forwards_to` applies the catalog's migrations only up to one of them
(Piccolo's own `forwards` command), for upgrade tests.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from backend.config import REPO_ROOT

MIGRATIONS = REPO_ROOT / "backend" / "catalog" / "piccolo_migrations"


def _env(url: str, data_dir: Path | str) -> dict[str, str]:
    return {**os.environ, "MPR_DATABASE_URL": url, "MPR_DATA_DIR": str(data_dir), "PICCOLO_CONF": "piccolo_conf"}


def _run(argv: list[str], url: str, data_dir: Path | str) -> str:
    out = subprocess.run(argv, cwd=REPO_ROOT, env=_env(url, data_dir), capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, f"{' '.join(argv[1:])} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    return out.stdout


def migrate(url: str, data_dir: Path | str) -> str:
    """`mpr migrate` on `url`: every pending migration of every app, then the builtin presets."""
    return _run([sys.executable, "-m", "backend.cli", "migrate"], url, data_dir)


async def migrate_async(url: str, data_dir: Path | str) -> str:
    return await asyncio.to_thread(migrate, url, data_dir)


def catalog_migration_ids() -> list[str]:
    """The catalog's migration ids, oldest first (Piccolo runs them in this order)."""
    ids = []
    for path in sorted(MIGRATIONS.glob("catalog_*.py")):
        for line in path.read_text().splitlines():
            if line.startswith("ID = "):
                ids.append(line.split("=", 1)[1].strip().strip("\"'"))
    return sorted(ids)


def forwards_to(url: str, data_dir: Path | str, migration_id: str) -> str:
    """Apply the catalog's migrations up to and including `migration_id` (nothing of later ones)."""
    code = (
        "import asyncio, sys; from piccolo.apps.migrations.commands.forwards import run_forwards; "
        "r = asyncio.run(run_forwards('catalog', migration_id=sys.argv[1])); "
        "sys.exit(0 if r.success else r.message)"
    )
    return _run([sys.executable, "-c", code, migration_id], url, data_dir)
