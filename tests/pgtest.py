"""Where the test suite's PostgreSQL lives (a module, so tests can import it; conftest names collide)."""
from __future__ import annotations

import os

PG_ADMIN_URL = os.environ.get("MPR_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def pg_url(dbname: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + dbname
