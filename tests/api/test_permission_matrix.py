"""The permission matrix: every mutation (and the admin-only queries) × every role's session and
every token scope → allowed or refused exactly as the table in docs/access-control.md says, and
that table is the one the code uses (`permissions.PERMISSIONS`) and covers every root field."""
from __future__ import annotations

import json
import re

import pytest

from access_helpers import code_of, make_user, session_headers, token_headers
from backend.api.graphql.permissions import PERMISSIONS
from backend.api.graphql.schema import schema
from backend.catalog.accounts import ROLE_RANK
from backend.catalog.api_tokens import SCOPE_RANK
from backend.config import REPO_ROOT

DOC = REPO_ROOT / "docs" / "access-control.md"
ROW = re.compile(r"^\| `(\w+)` \| (query|mutation|subscription) \| (viewer|editor|admin) \| (read|write|admin) \|$")

# One call per field, with arguments that pass GraphQL validation; an allowed caller gets the
# field's own answer (often NOT_FOUND or INVALID_INPUT: nothing with these ids exists), a refused one
# FORBIDDEN before the resolver runs.
CALLS = {
    "scanMediaFolder": 'mutation { scanMediaFolder(prefix: "no-such-folder") { added } }',
    "startMediaScan": 'mutation { startMediaScan(prefix: "no-such-folder") { id } }',
    "mediaScan": '{ mediaScan(id: "no-such-scan") { id } }',
    "uploadAsset": None,  # multipart, below
    "updateAsset": 'mutation { updateAsset(id: "999999", input: {comments: "x"}) { id } }',
    "deleteAsset": 'mutation { deleteAsset(id: "999999") { deleted } }',
    "createJob": 'mutation { createJob(input: {sourceId: "999999", presetId: "999999"}) { id } }',
    "cancelJob": 'mutation { cancelJob(id: "999999") { id } }',
    "retryJob": 'mutation { retryJob(id: "999999") { id } }',
    "deleteJob": 'mutation { deleteJob(id: "999999") { count } }',
    "deleteFinishedJobs": 'mutation { deleteFinishedJobs(statuses: [CANCELLED]) { count } }',
    "createSequence": 'mutation { createSequence(name: "") { id } }',
    "updateSequence": 'mutation { updateSequence(id: "999999", name: "x") { id } }',
    "duplicateSequence": 'mutation { duplicateSequence(id: "999999") { id } }',
    "deleteSequence": 'mutation { deleteSequence(id: "999999") { deleted } }',
    "renderSequence": 'mutation { renderSequence(id: "999999", presetId: "999999") { id } }',
    "importSequence": 'mutation { importSequence(format: EDL, content: "not an edl") { unmatched } }',
    "sequences": "{ sequences { id } }",
    "exportSequence": '{ exportSequence(id: "999999", format: OTIO) }',
    "createPreset": 'mutation { createPreset(input: {name: "", kind: "video", container: "mp4"}) { id } }',
    "updatePreset": 'mutation { updatePreset(id: "999999", input: {description: "x"}) { id } }',
    "deletePreset": 'mutation { deletePreset(id: "999999") { deleted } }',
    "createTemplate": 'mutation { createTemplate(input: {name: "", outputs: []}) { id } }',
    "updateTemplate": 'mutation { updateTemplate(id: "999999", input: {description: "x"}) { id } }',
    "deleteTemplate": 'mutation { deleteTemplate(id: "999999") { deleted } }',
    "createRule": 'mutation { createRule(input: {name: "", presetId: "999999"}) { id } }',
    "updateRule": 'mutation { updateRule(id: "999999", input: {enabled: false}) { id } }',
    "deleteRule": 'mutation { deleteRule(id: "999999") { deleted } }',
    "createUser": 'mutation { createUser(input: {username: "matrix-user", password: "short"}) { id } }',
    "updateUser": 'mutation { updateUser(id: "999999", input: {email: "x@example.org"}) { id } }',
    "createApiToken": 'mutation { createApiToken(input: {name: "m", scope: "no-such-scope"}) { token } }',
    "revokeApiToken": 'mutation { revokeApiToken(id: "999999") { id } }',
    # an allowed caller gets INVALID_INPUT (ftp:// is refused): no endpoint is stored
    "createWebhook": 'mutation { createWebhook(input: {url: "ftp://example.org/x"}) { secret } }',
    "deleteWebhook": 'mutation { deleteWebhook(id: "999999") { deleted } }',
    "redeliverWebhook": 'mutation { redeliverWebhook(deliveryId: "999999") { id } }',
    "webhooks": "{ webhooks { id } }",
    "webhookDeliveries": '{ webhookDeliveries(webhookId: "999999") { nodes { id } } }',
    "users": "{ users { id } }",
    "auditLog": "{ auditLog(first: 1) { id } }",
    "me": "{ me { role } }",
    "presets": "{ presets { id } }",
    "templates": "{ templates { id } }",
    "rules": "{ rules { id } }",
    "ruleMatches": "{ ruleMatches(input: {}) { total } }",
}

CALLERS = [("session", role, None) for role in ROLE_RANK] + [
    ("token", "viewer", "read"), ("token", "editor", "read"), ("token", "editor", "write"),
    ("token", "admin", "read"), ("token", "admin", "write"), ("token", "admin", "admin"),
]


def documented_table() -> dict[str, tuple[str, str, str]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line.strip())
        if match:
            name, kind, role, scope = match.groups()
            assert name not in rows, f"{name} appears twice in {DOC.name}"
            rows[name] = (kind, role, scope)
    return rows


def root_fields() -> dict[str, str]:
    graphql = schema._schema
    kinds = {}
    for root, kind in ((graphql.query_type, "query"), (graphql.mutation_type, "mutation"),
                       (graphql.subscription_type, "subscription")):
        kinds.update({name: kind for name in root.fields})
    return kinds


def test_the_documented_table_is_the_code_table_and_covers_every_root_field():
    documented = documented_table()
    fields = root_fields()
    assert set(fields) == set(PERMISSIONS), "every root field has exactly one rule"
    assert {n: (r.role, r.scope) for n, r in PERMISSIONS.items()} == {n: (d[1], d[2]) for n, d in documented.items()}
    assert {n: d[0] for n, d in documented.items()} == fields
    mutations = {n for n, k in fields.items() if k == "mutation"}
    assert mutations <= set(CALLS), f"the matrix has no call for {sorted(mutations - set(CALLS))}"


def expected_allowed(field: str, role: str, scope: str | None) -> bool:
    _, need_role, need_scope = documented_table()[field]
    if ROLE_RANK[role] < ROLE_RANK[need_role]:
        return False
    return scope is None or SCOPE_RANK[scope] >= SCOPE_RANK[need_scope]


async def _call(gql, field: str, headers: dict) -> dict:
    if field == "uploadAsset":
        resp = await gql.client.post("/graphql", headers=headers, data={
            "operations": json.dumps({"query": "mutation($f: Upload!) { uploadAsset(file: $f) { id } }",
                                      "variables": {"f": None}}),
            "map": json.dumps({"0": ["variables.f"]})}, files={"0": ("matrix.txt", b"not media", "text/plain")})
    else:
        resp = await gql.raw(CALLS[field], headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.parametrize("kind,role,scope", CALLERS, ids=[f"{k}-{r}-{s or 'role'}" for k, r, s in CALLERS])
async def test_every_mutation_for_every_role_and_scope(gql, db, kind, role, scope):
    user = await make_user(role)
    headers = await session_headers(user) if kind == "session" else (await token_headers(user, scope))[0]
    wrong = []
    for field in CALLS:
        body = await _call(gql, field, headers)
        code = code_of(body)
        allowed = expected_allowed(field, role, scope)
        if allowed and code in ("FORBIDDEN", "UNAUTHENTICATED"):
            wrong.append(f"{field}: refused ({body['errors'][0]['message']}) but the table allows it")
        if not allowed and (code != "FORBIDDEN" or body.get("data") is not None):
            wrong.append(f"{field}: not refused with FORBIDDEN (got {code or 'success'})")
    assert not wrong, "\n".join(wrong)
