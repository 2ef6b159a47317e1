"""The schema exposes the names docs/architecture.md promises; every operation needs the token; limits and masking hold."""
from __future__ import annotations

import os
import stat

import pytest

from api_helpers import AUTH
from backend.api import system as system_module
from backend.api.auth import ensure_admin_user, ensure_api_token, token_matches
from backend.api.graphql.schema import schema

QUERIES = {"assets", "asset", "jobs", "job", "presets", "systemStatus"}
MUTATIONS = {"scanMediaFolder", "uploadAsset", "createJob", "cancelJob", "retryJob", "updateAsset", "deleteAsset",
             "createPreset", "updatePreset", "deletePreset"}
TYPES = {"MediaAsset", "TranscodePreset", "TranscodeJob", "DeleteResult", "UpdateAssetRequest", "JobUpdate",
         "SystemStatus", "PageInfo", "JobStatus"}


def test_schema_names():
    gschema = schema._schema
    assert QUERIES <= set(gschema.query_type.fields)
    assert MUTATIONS <= set(gschema.mutation_type.fields)
    assert "jobUpdates" in gschema.subscription_type.fields
    assert TYPES <= set(gschema.type_map)
    update = gschema.mutation_type.fields["updateAsset"]
    assert set(update.args) == {"id", "input"} and str(update.args["input"].type) == "UpdateAssetRequest!"
    assert str(gschema.mutation_type.fields["deleteAsset"].type) == "DeleteResult!"
    assert "deleteFile" in gschema.mutation_type.fields["deleteAsset"].args
    job = gschema.type_map["TranscodeJob"].fields
    for name in ("progress", "speed", "etaSeconds", "attempt", "history", "error", "logTail", "source",
                 "outputAsset", "outputUrl", "preset"):
        assert name in job, name
    asset = gschema.type_map["MediaAsset"].fields
    for name in ("posterUrl", "filmstripUrl", "mediaUrl", "tags", "comments", "filename"):
        assert name in asset, name
    status = gschema.type_map["SystemStatus"].fields
    for name in ("jobCounts", "executor", "workers", "ffmpegVersion", "storage"):
        assert name in status, name


async def test_no_token_is_refused(client, gql):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-token"},
                    {"Authorization": "Basic dGVzdC10b2tlbg=="}):
        resp = await gql.raw("{ presets { id } }", headers=headers)
        assert resp.status_code == 401, headers
        assert resp.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    resp = await client.get("/graphql", params={"query": "{ presets { id } }"})
    assert resp.status_code == 401
    resp = await client.get("/graphql", params={"query": "{ presets { id } }"}, headers=AUTH)
    assert resp.status_code == 200 and "errors" not in resp.json()


async def test_graphiql_page_is_local(client):
    resp = await client.get("/graphql", headers={"Accept": "text/html"})
    assert resp.status_code == 200
    html = resp.text
    assert "unpkg" not in html and "cdn" not in html.lower() and "https://" not in html
    assert "/graphql/ide/graphiql.min.js" in html
    for name in ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphiql.min.css"):
        gz = await client.get(f"/graphql/ide/{name}", headers={"Accept-Encoding": "gzip"})
        assert gz.status_code == 200 and len(gz.content) > 1000, name  # httpx decodes gzip
        plain = await client.get(f"/graphql/ide/{name}", headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and plain.content == gz.content
    assert (await client.get("/graphql/ide/../../etc/passwd")).status_code == 404
    assert (await client.get("/graphql/ide/index.html")).status_code == 404


async def test_depth_alias_and_token_limits(gql):
    deep = "{ jobs { edges { node { source { filename } preset { name } history { reason } } } } }"
    await gql(deep)  # depth 5: fine
    nested = "{ a: jobs { edges { node { id } } } }"
    await gql(nested)
    too_many_aliases = "{ " + " ".join(f"a{i}: presets {{ id }}" for i in range(40)) + " }"
    err = await gql.error(too_many_aliases)
    assert "aliases" in err["message"].lower()
    huge = "{ presets { " + " ".join(["id"] * 4000) + " } }"
    resp = await gql.raw(huge)
    assert resp.status_code in (200, 400)
    assert "token" in resp.text.lower()


async def test_only_uploads_may_send_large_bodies(gql):
    """A JSON operation over 1 MiB is refused before its body is read; the upload limit is for files."""
    from backend.api.graphql.view import MAX_OPERATION_BYTES

    big = {"query": "query($x: String) { presets { id } }", "variables": {"x": "a" * MAX_OPERATION_BYTES}}
    resp = await gql.client.post("/graphql", json=big, headers=AUTH)
    assert resp.status_code == 413
    assert resp.json()["errors"][0]["extensions"]["code"] == "TOO_LARGE"
    small = {"query": "query($x: String) { presets { id } }", "variables": {"x": "a" * 1000}}
    assert (await gql.client.post("/graphql", json=small, headers=AUTH)).status_code == 200
    # without the token the answer is still 401, whatever the size
    assert (await gql.client.post("/graphql", json=big)).status_code == 401


async def test_unexpected_errors_are_masked(gql, monkeypatch, presets):
    async def boom(*args, **kwargs):
        raise RuntimeError("secret connection string postgres://user:pw@host")

    monkeypatch.setattr(system_module, "ffmpeg_version_async", boom)
    resp = await gql.raw("{ systemStatus { ffmpegVersion } }")
    assert resp.status_code == 200
    body = resp.json()
    assert body["errors"][0]["message"] == "Internal server error"
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in resp.text and "Traceback" not in resp.text


async def test_domain_errors_have_codes(gql):
    err = await gql.error('{ job(id: "abc") { id } }')
    assert err["extensions"]["code"] == "INVALID_INPUT"
    data = await gql('{ job(id: "999999") { id } asset(id: "999999") { id } }')
    assert data == {"job": None, "asset": None}


def test_ensure_api_token(settings, tmp_path):
    s = settings.with_(api_token=None, data_dir=tmp_path / "d")
    token, created = ensure_api_token(s)
    assert created and len(token) >= 32
    path = tmp_path / "d" / "api-token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ensure_api_token(s) == (token, False)
    assert ensure_api_token(s.with_(api_token="given")) == ("given", False)
    assert token_matches(token, f"Bearer {token}") and token_matches(token, f"bearer  {token} ")
    assert not token_matches(token, token) and not token_matches(token, None) and not token_matches(token, "Bearer x")


async def test_ensure_admin_user(settings, db):
    from piccolo.apps.user.tables import BaseUser

    await BaseUser.delete(force=True)
    generated = await ensure_admin_user(settings.with_(admin_password=None))
    assert generated and len(generated) >= 12
    assert await BaseUser.login(username="admin", password=generated)
    assert await ensure_admin_user(settings.with_(admin_password=None)) is None
    await BaseUser.delete(force=True)
    assert await ensure_admin_user(settings) is None  # password given: nothing to print
    assert await BaseUser.login(username="admin", password=settings.admin_password)
    row = await BaseUser.select(BaseUser.admin, BaseUser.superuser, BaseUser.active).first()
    assert row == {"admin": True, "superuser": True, "active": True}
    await BaseUser.delete(force=True)


@pytest.mark.parametrize("name", ["assets", "jobs"])
async def test_page_size_capped(gql, name):
    data = await gql(f"{{ {name}(first: 1000) {{ pageInfo {{ hasNextPage }} edges {{ cursor }} }} }}")
    assert data[name]["edges"] == []
    err = await gql.error(f"{{ {name}(first: -1) {{ pageInfo {{ hasNextPage }} }} }}")
    assert err["extensions"]["code"] == "INVALID_INPUT"
    err = await gql.error(f'{{ {name}(after: "garbage!") {{ pageInfo {{ hasNextPage }} }} }}')
    assert err["extensions"]["code"] == "INVALID_INPUT"


def test_committed_sdl_is_current():
    """backend/api/graphql/schema.graphql is what clients (the Reflex UI) code against; regenerate it with
    `python -c "from backend.api.graphql.schema import schema; print(schema.as_str())" > backend/api/graphql/schema.graphql`."""
    from pathlib import Path

    committed = (Path(__file__).resolve().parents[2] / "backend" / "api" / "graphql" / "schema.graphql").read_text()
    assert committed.strip() == schema.as_str().strip()
