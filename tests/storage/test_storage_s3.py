"""S3Storage on moto: stat/list (paginated)/put (multipart, content type)/get/delete, streams, presigned URLs."""
from __future__ import annotations

import threading

import boto3
import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from moto import mock_aws
from moto.server import ThreadedMotoServer

from backend.storage import S3Storage, StorageError, StorageTooLarge, open_storages
from backend.storage.storages import THUMBS_PREFIX

MB = 1024 * 1024


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in ("mpr-media-in", "mpr-media-out"):
            client.create_bucket(Bucket=bucket)
        yield client


async def chunks(*parts):
    for part in parts:
        yield part


async def test_put_stat_get_delete(s3, tmp_path):
    store = S3Storage(s3, "mpr-media-in", "in")
    src = tmp_path / "clip.mp4"
    src.write_bytes(b"not really a video")
    info = await store.put_file(src, "dir/my clip.mp4")
    assert (info.key, info.size) == ("dir/my clip.mp4", 18)
    assert info.etag and '"' not in info.etag and info.mtime > 0
    assert s3.head_object(Bucket="mpr-media-in", Key="dir/my clip.mp4")["ContentType"] == "video/mp4"
    assert await store.stat("dir/my clip.mp4") == info
    assert await store.stat("nope.mp4") is None
    got = await store.get_file("dir/my clip.mp4", tmp_path / "out" / "copy.mp4")
    assert got.read_bytes() == b"not really a video"
    with pytest.raises(StorageError):
        await store.get_file("nope.mp4", tmp_path / "x.mp4")
    assert not list((tmp_path).glob(".x.mp4*"))
    assert store.local_path("dir/my clip.mp4") is None
    assert await store.delete("dir/my clip.mp4") is True
    assert await store.delete("dir/my clip.mp4") is False


async def test_content_types(s3, tmp_path):
    store = S3Storage(s3, "mpr-media-out", "out")
    src = tmp_path / "f"
    src.write_bytes(b"x")
    for key, ctype in [("a.webm", "video/webm"), ("a.mkv", "video/x-matroska"), ("a.jpg", "image/jpeg"),
                       ("a.m4a", "audio/mp4"), ("a.unknownext", "application/octet-stream")]:
        await store.put_file(src, key)
        assert s3.head_object(Bucket="mpr-media-out", Key=key)["ContentType"] == ctype
    await store.put_file(src, "b.mp4", content_type="video/quicktime")
    assert s3.head_object(Bucket="mpr-media-out", Key="b.mp4")["ContentType"] == "video/quicktime"


async def test_keys_are_checked(s3, tmp_path):
    store = S3Storage(s3, "mpr-media-in", "in")
    for key in ("../x", "/abs", "a\x00b", "a\\..\\b"):
        with pytest.raises(StorageError):
            await store.stat(key)
        with pytest.raises(StorageError):
            store.playback_url(key)


async def test_multipart_upload(s3, tmp_path):
    small_parts = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    store = S3Storage(s3, "mpr-media-in", "in", transfer=small_parts)
    src = tmp_path / "big.mp4"
    src.write_bytes(b"\x01" * (11 * MB))
    info = await store.put_file(src, "big.mp4")
    assert info.size == 11 * MB
    assert info.etag.endswith("-3")  # three parts
    assert (await store.get_file("big.mp4", tmp_path / "back.mp4")).stat().st_size == 11 * MB


async def test_list_paginates_and_hides(s3, tmp_path):
    out = S3Storage(s3, "mpr-media-out", "out", hidden_prefixes=(THUMBS_PREFIX,), page_size=2)
    thumbs = S3Storage(s3, "mpr-media-out", "thumbs", prefix=THUMBS_PREFIX, page_size=2)
    src = tmp_path / "f"
    src.write_bytes(b"x")
    for i in range(5):
        await out.put_file(src, f"clip{i}.mp4")
    await out.put_file(src, "sub/deeper.mp4")
    await thumbs.put_file(src, "7/poster.jpg")
    s3.put_object(Bucket="mpr-media-out", Key="folder/", Body=b"")
    keys = [o.key for o in await out.list()]
    assert keys == [f"clip{i}.mp4" for i in range(5)] + ["sub/deeper.mp4"]
    assert [o.key for o in await out.list("sub/")] == ["sub/deeper.mp4"]
    assert [o.key for o in await thumbs.list()] == ["7/poster.jpg"]
    assert s3.head_object(Bucket="mpr-media-out", Key="_thumbs/7/poster.jpg")["ContentType"] == "image/jpeg"
    assert await thumbs.stat("7/poster.jpg") is not None


async def test_write_stream(s3):
    store = S3Storage(s3, "mpr-media-in", "in")
    info = await store.write_stream("up.mp4", chunks(b"ab", b"cd"), max_bytes=4)
    assert info.size == 4
    with pytest.raises(StorageTooLarge):
        await store.write_stream("toobig.mp4", chunks(b"abc", b"de"), max_bytes=4)
    assert await store.stat("toobig.mp4") is None


async def test_unique_key(s3, tmp_path):
    store = S3Storage(s3, "mpr-media-in", "in")
    src = tmp_path / "f"
    src.write_bytes(b"x")
    await store.put_file(src, "clip.mp4")
    assert await store.unique_key("clip.mp4") == "clip-1.mp4"
    assert await store.unique_key("fresh.mp4") == "fresh.mp4"


def test_open_storages_s3(s3, settings):
    storages = open_storages(settings.with_(storage="s3"), client=s3)
    assert (storages.input.bucket, storages.output.bucket, storages.thumbs.bucket) == ("mpr-media-in", "mpr-media-out", "mpr-media-out")
    assert storages.thumbs.prefix == THUMBS_PREFIX
    built = open_storages(settings.with_(storage="s3", aws_region="eu-west-1", aws_endpoint_url="http://127.0.0.1:9"))
    assert built.input.client.meta.region_name == "eu-west-1"
    assert built.input.client.meta.endpoint_url == "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def moto_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


async def test_presigned_urls_serve_bytes_and_ranges(moto_server, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_server)
    client.create_bucket(Bucket="presign-in")
    store = S3Storage(client, "presign-in", "in")
    src = tmp_path / "f.mp4"
    src.write_bytes(b"0123456789")
    await store.put_file(src, "a b/ü.mp4")
    url = store.playback_url("a b/ü.mp4")
    assert url.startswith(moto_server) and "Signature" in url
    async with httpx.AsyncClient() as http:
        full = await http.get(url)
        part = await http.get(store.probe_source("a b/ü.mp4"), headers={"Range": "bytes=2-4"})
    assert full.status_code == 200 and full.content == b"0123456789"
    assert part.status_code == 206 and part.content == b"234"
    async with httpx.AsyncClient() as http:  # a download link: S3 answers with the disposition it was signed with
        saved = await http.get(store.download_url("a b/ü.mp4", 'attachment; filename="u.mp4"'))
    assert saved.status_code == 200 and saved.content == b"0123456789"
    assert saved.headers["content-disposition"] == 'attachment; filename="u.mp4"'
