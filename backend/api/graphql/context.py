"""What a resolver may reach: settings, storages, the per-request DataLoaders, the caller's identity.

The GraphQL context is a dict (strawberry's Litestar integration adds `request`/`response`
or `socket`); MPR's part sits under the key "mpr". Use `api(info)` in resolvers.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

from backend.api.http import media_links, package_links
from backend.api.inert import attachment
from backend.api.graphql.loaders import Loaders
from backend.config import Settings
from backend.storage import LocalStorage, StorageError, Storages
from backend.storage.base import safe_key

CONTEXT_KEY = "mpr"


@dataclass
class ApiContext:
    settings: Settings
    storages: Storages
    runtime: Any = None  # backend.jobs.runtime.JobRuntime when this process runs jobs
    loaders: Loaders = field(default_factory=Loaders)
    media_key: bytes | None = None  # signs local /media links (backend.api.http.media_links)
    identity: Any = None  # backend.api.identity.Identity of the caller, set by the view


@functools.lru_cache(maxsize=8192)
def _signed_url(area: str, key: str, media_key: bytes, exp: int, version: str, asset: int | None,
                download: bool = False) -> str:
    return media_links.sign(media_key, media_links.media_path(area, safe_key(key)), exp, version=version, asset=asset,
                            download=download)


def _local_version(storage: LocalStorage, key: str) -> str:
    try:
        return storage.version(key)
    except StorageError:
        return ""


def playback_url(ctx: ApiContext, area: str, key: str, *, asset: int | None = None, etag: str = "") -> str:
    """A URL the browser can fetch for `key` in storage `area` ("in", "out", "thumbs").

    Local files get a signed /media link bound to `asset` (the asset the file belongs to, when
    known) and to the file's current version (size + mtime), which stays the same for hours (so
    it is remembered) and stops working once the file is replaced. S3 objects of an asset whose
    ETag is known (`etag`) get the same kind of link, which the route answers with a short-lived
    presigned redirect after checking the object's ETag; other S3 files a presigned URL."""
    storage = ctx.storages.get(area)
    if isinstance(storage, LocalStorage):
        if not ctx.media_key:
            return storage.playback_url(key)
        return _signed_url(area, key, ctx.media_key, media_links.expiry(time.time()), _local_version(storage, key), asset)
    if ctx.media_key and asset is not None and etag:
        return _signed_url(area, key, ctx.media_key, media_links.expiry(time.time()), etag, asset)
    return storage.playback_url(key)


def download_url(ctx: ApiContext, area: str, key: str, *, asset: int | None = None) -> str:
    """Like `playback_url`, but the browser saves the file: a signed `dl=1` /media link (served as an
    attachment; bound to `asset` and the file's version like a playback link) on local storage, a
    presigned URL asking S3 for `Content-Disposition: attachment`."""
    storage = ctx.storages.get(area)
    if isinstance(storage, LocalStorage):
        if not ctx.media_key:
            return storage.playback_url(key)
        return _signed_url(area, key, ctx.media_key, media_links.expiry(time.time()), _local_version(storage, key),
                           asset, download=True)
    if hasattr(storage, "download_url"):
        return storage.download_url(key, attachment(key))
    return storage.playback_url(key)


def package_url(ctx: ApiContext, area: str, entry_key: str) -> str:
    """A URL for `entry_key` (e.g. "<stem>/master.m3u8") whose signature covers its whole folder,
    so a player can fetch every playlist and segment the entry refers to (backend.api.http.package_links)."""
    folder, _, entry = entry_key.rpartition("/")
    if ctx.media_key and folder:
        return package_links.sign(ctx.media_key, area, folder, entry)
    return playback_url(ctx, area, entry_key)


def api(info) -> ApiContext:
    return info.context[CONTEXT_KEY]
