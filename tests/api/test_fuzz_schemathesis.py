"""Schema fuzz with schemathesis (hypothesis-graphql): generated operations against a running app never get a 5xx."""
from __future__ import annotations

import pytest

from skips import MISSING_TOOL

schemathesis = pytest.importorskip("schemathesis", reason=MISSING_TOOL + "schemathesis (make install)")
pytestmark = pytest.mark.slow

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.graphql import nodes  # noqa: E402

from api_helpers import AUTH  # noqa: E402
from backend.api.app import create_app  # noqa: E402
from backend.api.graphql.schema import schema as api_schema  # noqa: E402

schemathesis.graphql.scalar("Upload", st.just(nodes.String("not-a-file")))
schemathesis.graphql.scalar("JSON", st.just(nodes.String("{}")))
FUZZ = schemathesis.graphql.from_dict(api_schema.introspect())


@pytest.fixture
def server(api_settings, db, live_server):
    return live_server(create_app(api_settings, run_jobs=False, db_pool=False))


@FUZZ.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_server_errors(case, server):
    response = case.call(base_url=f"{server.url}/graphql", headers=AUTH)
    assert response.status_code < 500, response.text
    body = response.json()
    codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
    assert "INTERNAL_SERVER_ERROR" not in codes, (case.body, body)
