"""Bounded schema fuzz with MPR's own generator (always runs; schemathesis adds more when installed):
hundreds of random valid and broken operations never get a 5xx or a masked internal error."""
from __future__ import annotations

import random

import pytest

from api_helpers import AUTH
from backend.api.graphql.schema import schema as api_schema
from fuzz_ops import OpGenerator

OPERATIONS = 250


@pytest.mark.slow
async def test_fuzz_no_server_errors(client, presets, add_asset):
    await add_asset()
    gen = OpGenerator(api_schema._schema, random.Random(20261128))
    statuses: dict[int, int] = {}
    for i in range(OPERATIONS):
        query, variables = gen.valid() if i % 3 else gen.broken()
        resp = await client.post("/graphql", json={"query": query, "variables": variables}, headers=AUTH)
        statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
        assert resp.status_code < 500, (query, variables, resp.text)
        if resp.headers.get("content-type", "").startswith("application/json"):
            body = resp.json()
            codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
            assert "INTERNAL_SERVER_ERROR" not in codes, (query, variables, body)
        assert "Traceback" not in resp.text
    assert statuses.get(200, 0) > OPERATIONS // 2, statuses
