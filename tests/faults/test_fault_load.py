"""50 concurrent GraphQL clients for 10 s against a real app on PostgreSQL (the short variant of
bench/load.py, which runs 30 s): no errors, the server stays up, latency is printed.
"""
from __future__ import annotations

import importlib.util

import httpx
import pytest

from backend.config import REPO_ROOT

from mpr_app import TOKEN

pytestmark = pytest.mark.slow


def bench_load():
    spec = importlib.util.spec_from_file_location("mpr_bench_load", REPO_ROOT / "bench" / "load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_fifty_clients_no_errors(pg_app):
    load = bench_load()
    await pg_app.scan()  # an asset in the library pages
    result = await load.run_load(pg_app.url, TOKEN, clients=50, seconds=10)
    print("\n" + load.summary(result))
    assert result["errors"] == 0, result["first_errors"]
    assert result["requests"] >= 100, result
    assert pg_app.alive and httpx.get(f"{pg_app.url}/healthz", timeout=10).status_code == 200
