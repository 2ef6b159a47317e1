"""createJob / cancelJob / retryJob and createPreset / updatePreset / deletePreset: happy paths and refusals."""
from __future__ import annotations

from backend.catalog.tables import TranscodeJob, TranscodePreset

CREATE = """mutation($input: CreateJobInput!) { createJob(input: $input) {
  id status attempt trimStart trimEnd accurateTrim outputFilename priority source { id } preset { name }
  history { toStatus reason } } }"""
CANCEL = 'mutation($id: ID!) { cancelJob(id: $id) { id status history { fromStatus toStatus } } }'
RETRY = 'mutation($id: ID!) { retryJob(id: $id) { id status attempt error } }'


async def test_create_cancel_retry(gql, add_asset, presets):
    asset = await add_asset()
    job = (await gql(CREATE, {"input": {
        "sourceId": str(asset["id"]), "presetId": str(presets["H.264 480p"]),
        "trimStart": 0.5, "trimEnd": 1.5, "outputName": "../../my cut", "priority": 3,
    }}))["createJob"]
    assert job["status"] == "QUEUED" and job["attempt"] == 1 and job["priority"] == 3
    assert (job["trimStart"], job["trimEnd"], job["accurateTrim"]) == (0.5, 1.5, True)
    assert job["outputFilename"] == "my cut.mp4" and job["preset"]["name"] == "H.264 480p"
    assert job["source"]["id"] == str(asset["id"]) and job["history"] == [{"toStatus": "queued", "reason": "created"}]
    forced = (await gql('mutation($input: CreateJobInput!) { createJob(input: $input) { plan } }', {"input": {
        "sourceId": str(asset["id"]), "presetId": str(presets["H.264 480p"]), "chunked": True,
    }}))["createJob"]
    assert forced["plan"]["chunked_requested"] is True

    cancelled = (await gql(CANCEL, {"id": job["id"]}))["cancelJob"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["history"][-1] == {"fromStatus": "queued", "toStatus": "cancelled"}
    err = await gql.error(CANCEL, {"id": job["id"]})
    assert err["extensions"]["code"] == "ILLEGAL_TRANSITION" and "cancelled" in err["message"]

    retried = (await gql(RETRY, {"id": job["id"]}))["retryJob"]
    assert retried["status"] == "QUEUED" and retried["attempt"] == 2
    err = await gql.error(RETRY, {"id": job["id"]})
    assert err["extensions"]["code"] == "ILLEGAL_TRANSITION"
    for mutation in (CANCEL, RETRY):
        err = await gql.error(mutation, {"id": "987654"})
        assert err["extensions"]["code"] == "NOT_FOUND"


async def test_create_job_refusals(gql, add_asset, presets, api_settings):
    asset = await add_asset()
    (api_settings.in_root / "junk.mp4").write_text("junk")
    await gql("mutation { scanMediaFolder { added } }")
    junk = await gql('{ assets(status: [ERROR]) { nodes { id } } }')
    junk_id = junk["assets"]["nodes"][0]["id"]
    src, h264, copy = str(asset["id"]), str(presets["H.264 480p"]), str(presets["Trim only (stream copy)"])
    cases = [
        ({"sourceId": src, "presetId": h264, "trimStart": 1.5, "trimEnd": 0.5}, "INVALID_TRIM"),
        ({"sourceId": src, "presetId": h264, "trimStart": -1}, "INVALID_TRIM"),
        ({"sourceId": src, "presetId": h264, "trimEnd": 60}, "INVALID_TRIM"),
        ({"sourceId": src, "presetId": copy, "accurateTrim": True}, "INVALID_TRIM"),
        ({"sourceId": "777777", "presetId": h264}, "NOT_FOUND"),
        ({"sourceId": src, "presetId": "777777"}, "NOT_FOUND"),
        ({"sourceId": junk_id, "presetId": h264}, "ASSET_NOT_READY"),
        ({"sourceId": "x", "presetId": h264}, "INVALID_INPUT"),
        ({"sourceId": src, "presetId": h264, "outputName": "///"}, "INVALID_INPUT"),
    ]
    for payload, code in cases:
        err = await gql.error(CREATE, {"input": payload})
        assert err["extensions"]["code"] == code, (payload, err)
        assert err["message"] and "Traceback" not in err["message"]
    assert await TranscodeJob.count() == 0
    # a GraphQL type error is a validation error, not a crash
    err = await gql.error(CREATE, {"input": {"sourceId": src, "presetId": h264, "trimStart": "soon"}})
    assert "trimStart" in err["message"] or "Float" in err["message"]


PRESET_FIELDS = "id name builtin kind container videoCodec crf speedPreset maxWidth maxHeight audioCodec audioBitrate summary"
CREATE_PRESET = f"mutation($input: PresetInput!) {{ createPreset(input: $input) {{ {PRESET_FIELDS} }} }}"
UPDATE_PRESET = f"mutation($id: ID!, $input: PresetUpdateInput!) {{ updatePreset(id: $id, input: $input) {{ {PRESET_FIELDS} }} }}"
DELETE_PRESET = "mutation($id: ID!) { deletePreset(id: $id) { id deleted message } }"


async def test_preset_crud(gql, presets, add_asset):
    mine = (await gql(CREATE_PRESET, {"input": {
        "name": "Small H.264", "kind": "video", "container": "mp4", "videoCodec": "h264", "crf": 28,
        "maxWidth": 640, "maxHeight": 360, "audioCodec": "aac", "audioBitrate": 96,
    }}))["createPreset"]
    assert mine["builtin"] is False and mine["videoCodec"] == "libx264"  # alias normalised by validate_preset
    assert "CRF 28" in mine["summary"]

    updated = (await gql(UPDATE_PRESET, {"id": mine["id"], "input": {"crf": 30, "name": "Smaller H.264"}}))["updatePreset"]
    assert updated["crf"] == 30 and updated["name"] == "Smaller H.264" and updated["maxWidth"] == 640

    err = await gql.error(UPDATE_PRESET, {"id": mine["id"], "input": {"crf": 99}})
    assert err["extensions"]["code"] == "INVALID_PRESET" and err["extensions"]["field"] == "crf"
    err = await gql.error(CREATE_PRESET, {"input": {"name": "Bad", "kind": "video", "container": "mp4",
                                                    "videoCodec": "libvpx-vp9"}})
    assert err["extensions"]["code"] == "INVALID_PRESET" and err["extensions"]["field"] == "videoCodec"
    err = await gql.error(CREATE_PRESET, {"input": {"name": "H.264 720p", "kind": "copy", "container": "mp4"}})
    assert err["extensions"]["code"] == "INVALID_PRESET" and err["extensions"]["field"] == "name"
    err = await gql.error(CREATE_PRESET, {"input": {"name": "  ", "kind": "copy", "container": "mp4"}})
    assert err["extensions"]["code"] == "INVALID_PRESET"
    err = await gql.error(UPDATE_PRESET, {"id": mine["id"], "input": {"name": "H.264 720p"}})
    assert err["extensions"]["code"] == "INVALID_PRESET"

    builtin = str(presets["H.264 720p"])
    err = await gql.error(UPDATE_PRESET, {"id": builtin, "input": {"crf": 20}})
    assert err["extensions"]["code"] == "PRESET_READ_ONLY"
    err = await gql.error(DELETE_PRESET, {"id": builtin})
    assert err["extensions"]["code"] == "PRESET_READ_ONLY"
    assert (await TranscodePreset.select(TranscodePreset.crf).where(TranscodePreset.id == int(builtin)).first())["crf"] == 23

    # a job made with the preset keeps its snapshot after the preset is deleted
    asset = await add_asset()
    job = (await gql(CREATE, {"input": {"sourceId": str(asset["id"]), "presetId": mine["id"]}}))["createJob"]
    deleted = (await gql(DELETE_PRESET, {"id": mine["id"]}))["deletePreset"]
    assert deleted["deleted"] and "Smaller H.264" in deleted["message"]
    data = await gql('query($id: ID!) { job(id: $id) { preset { id } presetSnapshot } }', {"id": job["id"]})
    assert data["job"]["preset"] is None and data["job"]["presetSnapshot"]["crf"] == 30
    err = await gql.error(DELETE_PRESET, {"id": mine["id"]})
    assert err["extensions"]["code"] == "NOT_FOUND"
