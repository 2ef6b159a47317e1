"""Automation rules over GraphQL: createRule/updateRule/deleteRule checked field by field, the
dry run (`ruleMatches`), counts of what each rule did, rules firing on upload and on a tag change,
and the mutations' audit rows."""
from __future__ import annotations

from test_asset_mutations import upload

from access_helpers import code_of, make_user, session_headers
from backend.catalog.tables import AuditEvent, JobTransition, TranscodeJob

FIELDS = "id name enabled priority pathPrefix pathGlob containers videoCodecs tags minHeight maxHeight presetId templateId outputPattern assetsMatched jobsMade"
CREATE = f"mutation($input: RuleInput!) {{ createRule(input: $input) {{ {FIELDS} }} }}"
UPDATE = f"mutation($id: ID!, $input: RuleUpdateInput!) {{ updateRule(id: $id, input: $input) {{ {FIELDS} }} }}"
DELETE = "mutation($id: ID!) { deleteRule(id: $id) { deleted message } }"
LIST = f"{{ rules {{ {FIELDS} }} }}"
MATCHES = "query($m: RuleMatchInput!, $first: Int) { ruleMatches(input: $m, first: $first) { total assets { id storageKey } } }"
TAGS = "mutation($id: ID!, $tags: [String!]) { updateAsset(id: $id, input: {tags: $tags}) { id tags } }"


async def test_create_update_delete_checked(gql, presets, templates):
    preset = str(presets["H.264 480p"])
    refusals = [
        ({"name": " ", "presetId": preset}, "name"),
        ({"name": "r"}, "presetId"),
        ({"name": "r", "presetId": preset, "templateId": str(templates["Archive"])}, "presetId"),
        ({"name": "r", "presetId": "999999"}, "presetId"),
        ({"name": "r", "templateId": "999999"}, "templateId"),
        ({"name": "r", "presetId": preset, "outputPattern": "../{stem}"}, "outputPattern"),
        ({"name": "r", "presetId": preset, "outputPattern": "{nope}"}, "outputPattern"),
        ({"name": "r", "presetId": preset, "match": {"minHeight": 1080, "maxHeight": 720}}, "match.minHeight"),
        ({"name": "r", "presetId": preset, "match": {"pathPrefix": "/etc/"}}, "match.pathPrefix"),
        ({"name": "r", "presetId": preset, "priority": 10_000}, "priority"),
    ]
    for given, field in refusals:
        err = await gql.error(CREATE, {"input": given})
        assert (err["extensions"]["code"], err["extensions"].get("field")) == ("INVALID_RULE", field), (given, err)

    made = (await gql(CREATE, {"input": {"name": "News HD", "presetId": preset, "priority": 3,
                                         "match": {"pathPrefix": "news/", "containers": ["MP4"], "minHeight": 720,
                                                   "tags": ["news"]}}}))["createRule"]
    assert made["enabled"] and made["containers"] == ["mp4"] and made["tags"] == ["news"]
    assert (made["presetId"], made["templateId"], made["outputPattern"]) == (preset, None, "{stem}-{preset}")
    assert (made["assetsMatched"], made["jobsMade"]) == (0, 0)
    err = await gql.error(CREATE, {"input": {"name": "News HD", "presetId": preset}})
    assert err["extensions"]["field"] == "name" and "exists" in err["message"]

    # switching the action to a template drops the preset; an omitted match stays
    updated = (await gql(UPDATE, {"id": made["id"], "input": {"templateId": str(templates["Archive"]),
                                                              "enabled": False, "outputPattern": "{rule}-{stem}"}}))
    rule = updated["updateRule"]
    assert (rule["presetId"], rule["templateId"], rule["enabled"]) == (None, str(templates["Archive"]), False)
    assert rule["pathPrefix"] == "news/" and rule["minHeight"] == 720
    err = await gql.error(UPDATE, {"id": "999999", "input": {"enabled": True}})
    assert err["extensions"]["code"] == "NOT_FOUND"

    assert [r["name"] for r in (await gql(LIST))["rules"]] == ["News HD"]
    assert (await gql(DELETE, {"id": made["id"]}))["deleteRule"]["deleted"] is True
    assert (await gql(LIST))["rules"] == []
    actions = [(r["action"], r["ok"]) for r in await AuditEvent.select(AuditEvent.action, AuditEvent.ok)
               .where(AuditEvent.object_type == "rule").order_by(AuditEvent.id)]
    assert ("createRule", False) in actions and ("createRule", True) in actions
    assert ("updateRule", True) in actions and ("deleteRule", True) in actions


async def test_dry_run_then_rule_fires_on_upload_and_tags(gql, client, presets, add_asset, api_clip):
    a = await add_asset("news/a.mp4")
    await add_asset("sport/b.mp4")
    dry = (await gql(MATCHES, {"m": {"pathGlob": "news/*.mp4"}}))["ruleMatches"]
    assert dry == {"total": 1, "assets": [{"id": str(a["id"]), "storageKey": "news/a.mp4"}]}
    assert (await gql(MATCHES, {"m": {}, "first": 1}))["ruleMatches"]["total"] == 2
    err = await gql.error(MATCHES, {"m": {"minDuration": -1}})
    assert err["extensions"]["field"] == "match.minDuration"

    rule = (await gql(CREATE, {"input": {"name": "tagged", "presetId": str(presets["H.264 480p"]),
                                         "match": {"tags": ["publish"]}, "outputPattern": "{stem}-{preset}-{asset}"}}))
    rule_id = rule["createRule"]["id"]
    assert await TranscodeJob.count() == 0  # a new rule does not fire on existing assets by itself

    tagged = await gql(TAGS, {"id": str(a["id"]), "tags": ["publish"]})  # a tag change makes it match
    assert tagged["updateAsset"]["tags"] == ["publish"]
    jobs = await TranscodeJob.select(TranscodeJob.output_key, TranscodeJob.source)
    assert jobs == [{"output_key": f"a-h-264-480p-{a['id']}.mp4", "source": a["id"]}]
    await gql(TAGS, {"id": str(a["id"]), "tags": ["publish", "again"]})  # same file: no second job
    assert await TranscodeJob.count() == 1

    await gql(CREATE, {"input": {"name": "uploads", "presetId": str(presets["H.264 480p"]),
                                 "match": {"maxHeight": 480}}})
    resp = await upload(client, api_clip.read_bytes(), "fresh.mp4")
    assert resp.json()["data"]["uploadAsset"]["status"] == "READY"
    rows = {r["name"]: r for r in (await gql(LIST))["rules"]}
    assert (rows["tagged"]["assetsMatched"], rows["tagged"]["jobsMade"]) == (1, 1)
    assert (rows["uploads"]["assetsMatched"], rows["uploads"]["jobsMade"]) == (1, 1)
    reasons = {r["reason"] for r in await JobTransition.select(JobTransition.reason)}
    assert reasons == {"created by rule 'tagged'", "created by rule 'uploads'"}
    assert rows["tagged"]["id"] == rule_id


async def test_editors_read_rules_but_cannot_change_them(gql, presets):
    editor = await make_user("editor")
    headers = await session_headers(editor)
    body = (await gql.raw(LIST, headers=headers)).json()
    assert body["data"] == {"rules": []}
    body = (await gql.raw(CREATE, {"input": {"name": "x", "presetId": str(presets["H.264 480p"])}},
                          headers=headers)).json()
    assert code_of(body) == "FORBIDDEN"
