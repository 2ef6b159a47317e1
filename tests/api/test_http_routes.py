"""Byte-range media serving behind signed links, /healthz and the /admin mount."""
from __future__ import annotations

import os
import time

import pytest

from backend.api.http import media_links
from backend.api.auth import ensure_admin_user
from backend.api.http.media import parse_range
from backend.storage.local import file_version

DATA = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def media_file(api_settings):
    path = api_settings.in_root / "dir" / "clip one.mp4"
    path.parent.mkdir(parents=True)
    path.write_bytes(DATA)
    return path


def signed(settings, path: str, exp: int | None = None, *, version: str | None = None, asset: int | None = None) -> str:
    """A link as GraphQL makes it; the version defaults to the test file's current one."""
    if version is None:
        version = file_version(settings.in_root / "dir" / "clip one.mp4")
    return media_links.sign(media_links.media_key(settings.api_token), path, exp or media_links.expiry(),
                            version=version, asset=asset)


async def test_ranges(client, media_file, api_settings):
    url = signed(api_settings, "/media/in/dir/clip%20one.mp4")
    full = await client.get(url)
    assert full.status_code == 200 and full.content == DATA
    assert full.headers["accept-ranges"] == "bytes" and full.headers["content-type"] == "video/mp4"
    assert int(full.headers["content-length"]) == len(DATA)
    etag = full.headers["etag"]

    for header, (start, end) in {"bytes=0-99": (0, 99), "bytes=100-": (100, len(DATA) - 1),
                                 "bytes=-500": (len(DATA) - 500, len(DATA) - 1),
                                 "bytes=10000-99999": (10000, len(DATA) - 1), "bytes=5-5": (5, 5)}.items():
        resp = await client.get(url, headers={"Range": header})
        assert resp.status_code == 206, header
        assert resp.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"
        assert resp.content == DATA[start:end + 1]
        assert int(resp.headers["content-length"]) == end - start + 1

    for bad in ("bytes=20000-", "bytes=50-10", "bytes=abc", "bytes=-0", "bytes=5"):
        resp = await client.get(url, headers={"Range": bad})
        assert resp.status_code == 416, bad
        assert resp.headers["content-range"] == f"bytes */{len(DATA)}"

    # several ranges or another unit: the whole file
    assert (await client.get(url, headers={"Range": "bytes=0-1,5-6"})).status_code == 200
    assert (await client.get(url, headers={"Range": "items=0-1"})).status_code == 200
    # If-Range: matching validator -> range; stale -> whole file
    assert (await client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})).status_code == 206
    stale = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old-etag"'})
    assert stale.status_code == 200 and stale.content == DATA

    head = await client.head(url, headers={"Range": "bytes=0-99"})
    assert head.status_code == 206 and head.content == b""
    assert head.headers["content-range"] == f"bytes 0-99/{len(DATA)}"


async def test_media_needs_a_signed_link_or_the_token(client, media_file, api_settings):
    path = "/media/in/dir/clip%20one.mp4"
    good = signed(api_settings, path)
    assert (await client.get(good)).content == DATA
    assert (await client.get("/media/in/dir/clip one.mp4?" + good.split("?")[1])).status_code == 200  # same file, other spelling
    other = api_settings.in_root / "other.mp4"
    other.write_bytes(b"other")
    exp = media_links.expiry()
    sig = good.split("sig=")[1]
    refused = {
        "no signature": path,
        "another file's signature": f"/media/in/other.mp4?exp={exp}&sig={sig}",
        "a longer expiry": f"{path}?exp={exp + 3600}&sig={sig}",
        "expired": signed(api_settings, path, exp=int(time.time()) - 1),
        "a garbled signature": f"{path}?exp={exp}&sig={'0' * 32}",
        "another token's key": media_links.sign(media_links.media_key("not-the-token"), path, exp,
                                                version=file_version(media_file)),
        "the version taken off": good.replace("v=", "x="),
        "another version": good.replace("v=", "v=1"),
        "an asset id added": good.replace("?", "?a=1&"),
        "a wrong token": path,
    }
    for why, url in refused.items():
        headers = {"Authorization": "Bearer wrong"} if why == "a wrong token" else {}
        resp = await client.get(url, headers=headers)
        assert resp.status_code == 403 and DATA not in resp.content, why
        assert "signed" in resp.json()["detail"], why
    bearer = await client.get(path, headers={"Authorization": f"Bearer {api_settings.api_token}"})
    assert bearer.status_code == 200 and bearer.content == DATA
    # a link stays the same for hours, and valid for at least one window after it is handed out
    assert media_links.expiry(1_000_000) == media_links.expiry(1_000_001)
    assert media_links.expiry(1_000_000) - 1_000_000 >= media_links.WINDOW


async def test_media_confined(client, media_file, api_settings, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, api_settings.in_root / "link.mp4")
    for url in ("/media/in/../../secret.txt", "/media/in/%2e%2e/%2e%2e/secret.txt", "/media/in/link.mp4",
                "/media/etc/passwd", "/media/in/dir", "/media/in/missing.mp4", "/media/in/dir/..%2F..%2Fsecret.txt",
                f"/media/in/{secret}"):
        resp = await client.get(url, headers={"Authorization": f"Bearer {api_settings.api_token}"})
        assert resp.status_code == 404, url
        assert b"top secret" not in resp.content


def test_parse_range():
    assert parse_range("bytes=0-0", 0) == "bad"
    assert parse_range("bytes=-10", 5) == (0, 4)
    assert parse_range("BYTES=1-2", 5) == (1, 2)


async def test_healthz(client, api_settings):
    resp = await client.get("/healthz")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok" and body["storage"] == "local" and body["executor"] == "local"
    assert body["database"] == ("postgresql" if api_settings.is_postgres else "sqlite")
    assert body["ffmpeg"] and "unavailable" not in body["ffmpeg"]


async def test_admin(client, api_settings):
    from piccolo.apps.user.tables import BaseUser

    await BaseUser.delete(force=True)
    await ensure_admin_user(api_settings)
    resp = await client.get("/admin", follow_redirects=False)
    assert resp.status_code == 308 and resp.headers["location"] == "/admin/"
    resp = await client.get("/admin/")
    assert resp.status_code == 200 and "Piccolo Admin" in resp.text
    assert (await client.get("/admin/api/tables/")).status_code == 401
    csrf = client.cookies.get("csrftoken")
    bad = await client.post("/admin/public/login/", json={"username": "admin", "password": "nope"},
                            headers={"X-CSRFToken": csrf})
    assert bad.status_code in (401, 403)
    ok = await client.post("/admin/public/login/", json={"username": "admin", "password": api_settings.admin_password},
                           headers={"X-CSRFToken": csrf})
    assert ok.status_code == 200
    tables = (await client.get("/admin/api/tables/")).json()
    assert set(tables) >= {"media_asset", "transcode_job", "transcode_preset", "job_transition",
                           "mpr_webhook_endpoint", "mpr_webhook_delivery"}
    # the webhook signing secret is not among what the admin lists
    endpoints = (await client.get("/admin/api/tables/mpr_webhook_endpoint/schema/")).json()
    visible = endpoints["extra"]["visible_column_names"]
    assert "url" in visible and "secret" not in visible
    await BaseUser.delete(force=True)


async def test_an_old_link_never_opens_the_replaced_file(client, media_file, api_settings):
    """A link binds the file's version (size + mtime): once the file is replaced (same name, other
    bytes), the old link is refused and a fresh one opens the new content."""
    old = signed(api_settings, "/media/in/dir/clip%20one.mp4")
    assert (await client.get(old)).content == DATA
    replacement = b"new content of another size"
    media_file.write_bytes(replacement)
    resp = await client.get(old)
    assert resp.status_code == 403 and replacement not in resp.content and "another version" in resp.json()["detail"]
    same_size = bytes(reversed(DATA))  # same size, later mtime
    media_file.write_bytes(same_size)
    os.utime(media_file, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    assert (await client.get(old)).status_code == 403
    fresh = signed(api_settings, "/media/in/dir/clip%20one.mp4")
    assert fresh != old and (await client.get(fresh)).content == same_size
