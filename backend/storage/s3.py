"""`S3Storage`: one storage area as a bucket (optionally under a key prefix), through a boto3 client.

boto3 blocks, so every call runs in a worker thread (`asyncio.to_thread`). Big files go up in
parts (`TransferConfig`); playback and ffprobe/ffmpeg read objects through presigned GET URLs.
"""
from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any, AsyncIterator

from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from backend.storage.base import (
    ObjectInfo,
    StorageError,
    StorageTooLarge,
    content_type_for,
    first_free_key,
    safe_key,
)

MB = 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=16 * MB, multipart_chunksize=16 * MB, max_concurrency=4)
URL_EXPIRES = 6 * 3600  # long enough to watch a film or run a transcode from it
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def _etag(raw: str | None) -> str:
    return (raw or "").strip('"')


class S3Storage:
    def __init__(
        self,
        client: Any,
        bucket: str,
        area: str,
        prefix: str = "",
        *,
        hidden_prefixes: tuple[str, ...] = (),
        transfer: TransferConfig = TRANSFER,
        url_expires: int = URL_EXPIRES,
        page_size: int = 1000,
    ):
        """`prefix` ('' or ending in '/') is prepended to every key; `hidden_prefixes` (keys
        relative to `prefix`) are left out of `list()` — e.g. the thumbs area inside the out bucket."""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.client = client
        self.bucket = bucket
        self.area = area
        self.prefix = prefix
        self.hidden_prefixes = hidden_prefixes
        self.transfer = transfer
        self.url_expires = url_expires
        self.page_size = page_size

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix}, {self.area!r})"

    def _full(self, key: str) -> str:
        return self.prefix + safe_key(key)

    def local_path(self, key: str) -> None:
        safe_key(key)
        return None

    # -- reading -----------------------------------------------------------------------------------
    async def stat(self, key: str) -> ObjectInfo | None:
        full = self._full(key)
        try:
            head = await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=full)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
                return None
            raise StorageError(f"s3 head {full!r}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"s3 head {full!r}: {exc}") from exc
        return ObjectInfo(safe_key(key), head["ContentLength"], head["LastModified"].timestamp(), _etag(head.get("ETag")))

    def _list_sync(self, prefix: str) -> list[ObjectInfo]:
        out: list[ObjectInfo] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix, PaginationConfig={"PageSize": self.page_size}
        ):
            for obj in page.get("Contents", []):
                key = obj["Key"][len(self.prefix):]
                if key.endswith("/") or any(key.startswith(h) for h in self.hidden_prefixes):
                    continue  # folder placeholders, areas nested in this one
                out.append(ObjectInfo(key, obj["Size"], obj["LastModified"].timestamp(), _etag(obj.get("ETag"))))
        out.sort(key=lambda o: o.key)
        return out

    async def list(self, prefix: str = "") -> list[ObjectInfo]:
        try:
            return await asyncio.to_thread(self._list_sync, prefix)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"s3 list s3://{self.bucket}/{self.prefix}{prefix}: {exc}") from exc

    async def get_file(self, key: str, dest: Path) -> Path:
        full = self._full(key)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name[:60]}.", dir=dest.parent)
        os.close(fd)
        try:
            await asyncio.to_thread(self.client.download_file, self.bucket, full, tmp, Config=self.transfer)
            os.replace(tmp, dest)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            raise StorageError(
                f"no object {key!r} in {self.area!r} storage" if code in _NOT_FOUND else f"s3 get {full!r}: {exc}"
            ) from exc
        except BotoCoreError as exc:
            raise StorageError(f"s3 get {full!r}: {exc}") from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return dest

    # -- writing -----------------------------------------------------------------------------------
    async def put_file(self, local: Path, key: str, content_type: str | None = None) -> ObjectInfo:
        full = self._full(key)
        local = Path(local)
        if not local.is_file():
            raise StorageError(f"no such file to store: {local}")
        extra = {"ContentType": content_type or content_type_for(key)}
        try:
            await asyncio.to_thread(
                self.client.upload_file, str(local), self.bucket, full, ExtraArgs=extra, Config=self.transfer
            )
        except (ClientError, BotoCoreError, S3UploadFailedError) as exc:
            raise StorageError(f"s3 put {full!r}: {exc}") from exc
        info = await self.stat(key)
        if info is None:
            raise StorageError(f"s3 put {full!r}: object missing right after upload")
        return info

    async def write_stream(self, key: str, chunks: AsyncIterator[bytes], max_bytes: int) -> ObjectInfo:
        """Spool to a temporary file (enforcing `max_bytes`), then upload: nothing reaches S3 on error."""
        safe_key(key)
        fd, tmp = tempfile.mkstemp(prefix="mpr-upload-")
        total = 0
        try:
            with os.fdopen(fd, "wb") as fh:
                async for chunk in chunks:
                    total += len(chunk)
                    if total > max_bytes:
                        raise StorageTooLarge(f"upload larger than {max_bytes} bytes")
                    await asyncio.to_thread(fh.write, chunk)
            return await self.put_file(Path(tmp), key)
        finally:
            os.unlink(tmp)

    async def delete(self, key: str) -> bool:
        full = self._full(key)
        existed = await self.stat(key) is not None
        if existed:
            try:
                await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=full)
            except (ClientError, BotoCoreError) as exc:
                raise StorageError(f"s3 delete {full!r}: {exc}") from exc
        return existed

    async def unique_key(self, key: str) -> str:
        return await first_free_key(self, key)

    # -- URLs --------------------------------------------------------------------------------------
    def presigned_get(self, key: str, expires: int | None = None) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._full(key)},
            ExpiresIn=expires or self.url_expires,
        )

    def playback_url(self, key: str) -> str:
        return self.presigned_get(key)

    def download_url(self, key: str, disposition: str) -> str:
        """A presigned GET that S3 answers with `disposition` (an attachment: the browser saves it)."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._full(key), "ResponseContentDisposition": disposition},
            ExpiresIn=self.url_expires,
        )

    def probe_source(self, key: str) -> str:
        return self.presigned_get(key)
