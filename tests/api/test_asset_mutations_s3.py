"""uploadAsset, deleteAsset(deleteFile) and the signed mediaUrl with MPR_STORAGE=s3 (moto's S3 as a
real HTTP server, so ffprobe and the thumbnailer read the objects through presigned URLs as they
would from AWS). The local-storage versions are in test_asset_mutations.py and test_queries.py.

moto checks that a GET carries a presigned query (an unsigned one gets 403) but not the signature
itself nor its expiry; those two are AWS's to enforce, so they are not asserted here.
"""
from __future__ import annotations

import uuid

import boto3
import httpx
import pytest
from litestar.testing import AsyncTestClient
from moto.server import ThreadedMotoServer

from api_helpers import AUTH, GQL
from backend.api.app import create_app
from backend.catalog.tables import MediaAsset
from backend.storage.storages import THUMBS_PREFIX
from test_asset_mutations import DELETE, upload

ASSET = "query($id: ID!) { asset(id: $id) { id storageKey status mediaUrl posterUrl filmstripUrl } }"


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_settings(api_settings, moto_url, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    run = uuid.uuid4().hex[:8]
    return api_settings.with_(storage="s3", s3_in_bucket=f"mpr-in-{run}", s3_out_bucket=f"mpr-out-{run}",
                              aws_endpoint_url=moto_url, aws_region="us-east-1")


@pytest.fixture
def s3(s3_settings):
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=s3_settings.aws_endpoint_url)
    for bucket in (s3_settings.s3_in_bucket, s3_settings.s3_out_bucket):
        client.create_bucket(Bucket=bucket)
    return client


@pytest.fixture
async def s3_client(s3_settings, s3, presets):
    async with AsyncTestClient(app=create_app(s3_settings, run_jobs=False, db_pool=False)) as client:
        yield client


def keys(s3, bucket: str, prefix: str = "") -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


async def test_upload_to_s3(s3_client, s3, s3_settings, api_clip):
    resp = await upload(s3_client, api_clip.read_bytes(), "../../etc/passwd")
    body = resp.json()
    assert resp.status_code == 200 and not body.get("errors"), body
    asset = body["data"]["uploadAsset"]
    assert asset["storageKey"] == "passwd" and asset["status"] == "READY" and asset["duration"] > 1.5
    stored = s3.get_object(Bucket=s3_settings.s3_in_bucket, Key="passwd")
    assert stored["Body"].read() == api_clip.read_bytes()
    assert stored["ContentLength"] == api_clip.stat().st_size
    thumbs = keys(s3, s3_settings.s3_out_bucket, THUMBS_PREFIX)
    assert thumbs, "poster and filmstrip are written to the out bucket"
    assert not (s3_settings.in_root / "passwd").exists()  # nothing on the local disk

    # the same name again gets a new key; nothing in the bucket is overwritten
    again = (await upload(s3_client, api_clip.read_bytes(), "passwd")).json()["data"]["uploadAsset"]
    assert again["storageKey"] == "passwd-1"
    assert keys(s3, s3_settings.s3_in_bucket) == ["passwd", "passwd-1"]

    refused = await upload(s3_client, b"x", "a.mp4", headers={})
    assert refused.status_code == 401
    assert "a.mp4" not in keys(s3, s3_settings.s3_in_bucket)


async def test_upload_too_large_leaves_no_object(s3_settings, s3, presets, api_clip):
    small = s3_settings.with_(max_upload_bytes=1000)
    async with AsyncTestClient(app=create_app(small, run_jobs=False, db_pool=False)) as client:
        resp = await upload(client, api_clip.read_bytes()[:5000], "big.mp4")
        assert resp.json()["errors"][0]["extensions"]["code"] == "TOO_LARGE"
    assert keys(s3, s3_settings.s3_in_bucket) == []
    assert await MediaAsset.count() == 0


async def test_media_links_are_presigned_s3_urls(s3_client, s3, s3_settings, api_clip):
    """The asset's mediaUrl is a signed /media link bound to the object's ETag, answered with a
    short presigned redirect while the object is unchanged; posters and filmstrips are presigned."""
    gql = GQL(s3_client)
    uploaded = (await upload(s3_client, api_clip.read_bytes(), "clip.mp4")).json()["data"]["uploadAsset"]
    asset = (await gql(ASSET, {"id": uploaded["id"]}))["asset"]
    link = asset["mediaUrl"]
    assert link.startswith("/media/in/clip.mp4?") and f"a={uploaded['id']}&v=" in link
    redirect = await s3_client.get(link, follow_redirects=False)
    assert redirect.status_code == 302
    presigned = redirect.headers["location"]
    assert presigned.startswith(s3_settings.aws_endpoint_url) and f"/{s3_settings.s3_in_bucket}/clip.mp4" in presigned
    async with httpx.AsyncClient(timeout=30) as http:
        media = await http.get(presigned, headers={"Range": "bytes=0-99"})
        assert media.status_code == 206 and media.content == api_clip.read_bytes()[:100]
        for field in ("posterUrl", "filmstripUrl"):  # a browser fetches them without the token
            url = asset[field]
            assert url.startswith(s3_settings.aws_endpoint_url) and "Signature" in url, (field, url)
            resp = await http.get(url)
            assert resp.status_code == 200 and resp.content, field
            assert (await http.get(url.split("?")[0])).status_code == 403, field  # unsigned: refused
    # the object is replaced under the same key: the old link opens nothing, a fresh one the new bytes
    s3.put_object(Bucket=s3_settings.s3_in_bucket, Key="clip.mp4", Body=b"replaced content")
    old = await s3_client.get(link)
    assert old.status_code == 403 and "another version" in old.json()["detail"]


async def test_delete_asset_on_s3(s3_client, s3, s3_settings, api_clip):
    gql = GQL(s3_client)
    keep = (await upload(s3_client, api_clip.read_bytes(), "keep.mp4")).json()["data"]["uploadAsset"]
    gone = (await upload(s3_client, api_clip.read_bytes(), "gone.mp4")).json()["data"]["uploadAsset"]
    thumbs_before = keys(s3, s3_settings.s3_out_bucket, THUMBS_PREFIX)
    rows = {r["id"]: r for r in await MediaAsset.select(MediaAsset.id, MediaAsset.poster_key, MediaAsset.filmstrip_key,
                                                             MediaAsset.waveform_key)}
    keep_row = rows[int(keep["id"])]

    data = (await gql(DELETE, {"id": keep["id"]}))["deleteAsset"]
    assert data["deleted"] and "file kept at in/keep.mp4" in data["message"]
    assert keep_row["waveform_key"]  # the analysis' peaks file goes with the pictures
    assert sorted(data["removedFiles"]) == sorted([f"thumbs/{keep_row['poster_key']}",
                                                   f"thumbs/{keep_row['filmstrip_key']}",
                                                   f"thumbs/{keep_row['waveform_key']}"])
    assert "keep.mp4" in keys(s3, s3_settings.s3_in_bucket)  # the source stays in the bucket
    thumbs_after = keys(s3, s3_settings.s3_out_bucket, THUMBS_PREFIX)
    assert f"{THUMBS_PREFIX}{keep_row['poster_key']}" in thumbs_before
    assert f"{THUMBS_PREFIX}{keep_row['poster_key']}" not in thumbs_after
    assert f"{THUMBS_PREFIX}{keep_row['filmstrip_key']}" not in thumbs_after
    assert f"{THUMBS_PREFIX}{keep_row['waveform_key']}" not in thumbs_after

    data = (await gql(DELETE, {"id": gone["id"], "f": True}))["deleteAsset"]
    assert "in/gone.mp4" in data["removedFiles"] and "file removed" in data["message"]
    assert keys(s3, s3_settings.s3_in_bucket) == ["keep.mp4"]
    assert keys(s3, s3_settings.s3_out_bucket, THUMBS_PREFIX) == []
    assert await MediaAsset.count() == 0
    err = await gql.error(DELETE, {"id": gone["id"]})
    assert err["extensions"]["code"] == "NOT_FOUND"
