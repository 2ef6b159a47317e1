"""scanMediaFolder, uploadAsset, updateAsset, deleteAsset: happy paths and refusals."""
from __future__ import annotations

import json

from api_helpers import AUTH, seed_jobs
from backend.api.app import create_app
from backend.catalog.tables import JobTransition, MediaAsset, TranscodeJob
from litestar.testing import AsyncTestClient

UPLOAD = "mutation($file: Upload!, $filename: String) { uploadAsset(file: $file, filename: $filename) { id filename storageKey status duration posterUrl } }"


async def upload(client, content: bytes, filename: str, name_arg: str | None = None, headers=AUTH):
    operations = {"query": UPLOAD, "variables": {"file": None, "filename": name_arg}}
    return await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (filename, content, "video/mp4")},
        headers=headers,
    )


async def test_scan(gql, api_settings, api_clip):
    for key in ("a.mp4", "sub/b.mp4"):
        dest = api_settings.in_root / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(api_clip.read_bytes())
    (api_settings.in_root / "bad.mp4").write_bytes(b"\x00" * 100)
    data = (await gql("mutation { scanMediaFolder { added updated unchanged errors assets { filename status } } }"))
    scan = data["scanMediaFolder"]
    assert (scan["added"], scan["errors"]) == (3, 1)
    assert sorted(a["filename"] for a in scan["assets"]) == ["a.mp4", "b.mp4", "bad.mp4"]
    again = (await gql("mutation { scanMediaFolder { added unchanged } }"))["scanMediaFolder"]
    assert again == {"added": 0, "unchanged": 3}
    sub = (await gql('mutation { scanMediaFolder(prefix: "sub") { unchanged assets { filename } } }'))
    assert sub["scanMediaFolder"]["assets"] == [{"filename": "b.mp4"}]
    err = await gql.error('mutation { scanMediaFolder(prefix: "../etc") { added } }')
    assert err["extensions"]["code"] == "STORAGE_ERROR"


async def test_upload(client, api_settings, api_clip):
    resp = await upload(client, api_clip.read_bytes(), "../../etc/passwd")
    body = resp.json()
    assert resp.status_code == 200 and not body.get("errors"), body
    asset = body["data"]["uploadAsset"]
    assert asset["storageKey"] == "passwd" and asset["status"] == "READY" and asset["duration"] > 1.5
    assert (api_settings.in_root / "passwd").read_bytes() == api_clip.read_bytes()
    assert asset["posterUrl"]

    # same name again: a new key, nothing overwritten; the filename argument wins over the part name
    resp = await upload(client, api_clip.read_bytes(), "x.mp4", name_arg="..\\..\\Windows\\clip.mp4")
    assert resp.json()["data"]["uploadAsset"]["storageKey"] == "clip.mp4"
    resp = await upload(client, api_clip.read_bytes(), "clip.mp4")
    assert resp.json()["data"]["uploadAsset"]["storageKey"] == "clip-1.mp4"
    # junk is checked by probing and refused (issue 14: no non-media file is kept or served); the
    # leading dot of its name was still dropped
    resp = await upload(client, b"junk", ".hidden")
    err = resp.json()["errors"][0]
    assert err["extensions"]["code"] == "NOT_MEDIA" and err["message"].startswith("hidden was refused")
    assert "not a media file" in err["message"] and resp.json()["data"] is None
    assert not (api_settings.in_root / "hidden").exists() and not (api_settings.in_root / ".hidden").exists()

    resp = await upload(client, b"x", "a.mp4", headers={})
    assert resp.status_code == 401
    assert not (api_settings.in_root / "a.mp4").exists()


async def test_upload_too_large(api_settings, api_clip):
    small = api_settings.with_(max_upload_bytes=1000)
    async with AsyncTestClient(app=create_app(small, run_jobs=False, db_pool=False)) as client:
        resp = await upload(client, api_clip.read_bytes()[:5000], "big.mp4")
        assert resp.status_code == 200
        err = resp.json()["errors"][0]
        assert err["extensions"]["code"] == "TOO_LARGE"
        # far beyond the limit: refused while the body is read
        resp = await upload(client, b"\x00" * (1 << 21), "huge.mp4")
        assert resp.status_code == 413
    assert [p.name for p in api_settings.in_root.iterdir()] == []
    assert await MediaAsset.count() == 0


UPDATE = "mutation($id: ID!, $input: UpdateAssetRequest!) { updateAsset(id: $id, input: $input) { id filename tags comments storageKey } }"


async def test_update_asset(gql, add_asset):
    asset = await add_asset()
    aid = str(asset["id"])
    data = await gql(UPDATE, {"id": aid, "input": {"tags": [" beach ", "beach", "", "Sommer ☀"], "comments": "good take\nkeep"}})
    assert data["updateAsset"] == {"id": aid, "filename": "clip.mp4", "tags": ["beach", "Sommer ☀"],
                                   "comments": "good take\nkeep", "storageKey": "clip.mp4"}
    data = await gql(UPDATE, {"id": aid, "input": {"filename": "  Holiday cut  "}})
    assert data["updateAsset"]["filename"] == "Holiday cut" and data["updateAsset"]["tags"] == ["beach", "Sommer ☀"]
    assert data["updateAsset"]["storageKey"] == "clip.mp4"  # display name only

    for bad in ({"filename": ""}, {"filename": None}, {"filename": "a\x00b"}, {"tags": ["x" * 65]},
                {"tags": [f"t{i}" for i in range(51)]}, {"comments": "x" * 10001}):
        err = await gql.error(UPDATE, {"id": aid, "input": bad})
        assert err["extensions"]["code"] == "INVALID_INPUT", bad
    err = await gql.error(UPDATE, {"id": "424242", "input": {"comments": "x"}})
    assert err["extensions"]["code"] == "NOT_FOUND"
    row = await MediaAsset.select(MediaAsset.filename, MediaAsset.comments).where(MediaAsset.id == asset["id"]).first()
    assert row == {"filename": "Holiday cut", "comments": "good take\nkeep"}


DELETE = "mutation($id: ID!, $f: Boolean) { deleteAsset(id: $id, deleteFile: $f) { id deleted removedFiles removedJobs message } }"


async def test_delete_asset(gql, add_asset, presets, api_settings):
    keep = await add_asset("keep.mp4")
    gone = await add_asset("gone.mp4")
    await seed_jobs(2, keep["id"], presets["H.264 720p"], statuses=("succeeded", "failed"))

    data = (await gql(DELETE, {"id": str(keep["id"])}))["deleteAsset"]
    assert data["deleted"] and data["removedJobs"] == 2
    assert keep["waveform_key"]  # the analysis' peaks file goes with the pictures
    assert sorted(data["removedFiles"]) == sorted([f"thumbs/{keep['poster_key']}", f"thumbs/{keep['filmstrip_key']}",
                                                   f"thumbs/{keep['waveform_key']}"])
    assert not (api_settings.thumbs_root / keep["waveform_key"]).exists()
    assert "file kept at in/keep.mp4" in data["message"]
    assert (api_settings.in_root / "keep.mp4").exists()
    assert not (api_settings.thumbs_root / keep["poster_key"]).exists()
    assert await TranscodeJob.count() == 0 and await JobTransition.count() == 0

    data = (await gql(DELETE, {"id": str(gone["id"]), "f": True}))["deleteAsset"]
    assert "in/gone.mp4" in data["removedFiles"] and "file removed" in data["message"]
    assert not (api_settings.in_root / "gone.mp4").exists()
    assert await MediaAsset.count() == 0

    err = await gql.error(DELETE, {"id": str(gone["id"])})
    assert err["extensions"]["code"] == "NOT_FOUND"


async def test_delete_refused_while_a_job_uses_it(gql, add_asset, presets, api_settings):
    src = await add_asset("src.mp4")
    out = await add_asset("out.mp4")
    await seed_jobs(1, src["id"], presets["H.264 720p"], statuses=("running",), output_asset=out["id"])
    for asset in (src, out):
        err = await gql.error(DELETE, {"id": str(asset["id"]), "f": True})
        assert err["extensions"]["code"] == "ASSET_IN_USE" and "cancel" in err["message"]
    assert await MediaAsset.count() == 2 and await TranscodeJob.count() == 1
    assert (api_settings.in_root / "src.mp4").exists()

    # an output asset whose job is finished can go; the job stays, without its output link
    await TranscodeJob.update({TranscodeJob.status: "succeeded"}, force=True)
    data = (await gql(DELETE, {"id": str(out["id"])}))["deleteAsset"]
    assert data["removedJobs"] == 0
    job = await TranscodeJob.select(TranscodeJob.output_asset).first()
    assert job["output_asset"] is None
