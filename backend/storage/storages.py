"""`Storages`: the three areas MPR uses (in, out, thumbs) and `open_storages(settings)` that builds them.

Local: `settings.in_root`, `out_root`, `thumbs_root`. S3: the in bucket, the out bucket, and the
thumbs under the out bucket's "_thumbs/" prefix (hidden from the out area's listing).
"""
from __future__ import annotations

from dataclasses import dataclass

from backend.config import Settings
from backend.storage.base import Storage, StorageError
from backend.storage.local import LocalStorage

THUMBS_PREFIX = "_thumbs/"


@dataclass
class Storages:
    input: Storage
    output: Storage
    thumbs: Storage

    def get(self, area: str) -> Storage:
        try:
            return {"in": self.input, "out": self.output, "thumbs": self.thumbs}[area]
        except KeyError:
            raise StorageError(f"unknown storage area {area!r} (in, out or thumbs)") from None


def s3_client(settings: Settings):
    import boto3

    return boto3.client("s3", endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region)


def open_storages(settings: Settings, *, client=None) -> Storages:
    """Storages for `settings.storage` ('local' or 's3'); `client` overrides the boto3 client."""
    if settings.storage == "local":
        roots = (settings.in_root, settings.out_root, settings.thumbs_root)
        for root in roots:
            root.mkdir(parents=True, exist_ok=True)
        return Storages(*(LocalStorage(root, area) for root, area in zip(roots, ("in", "out", "thumbs"))))
    if settings.storage == "s3":
        from backend.storage.s3 import S3Storage

        client = client or s3_client(settings)
        return Storages(
            input=S3Storage(client, settings.s3_in_bucket, "in"),
            output=S3Storage(client, settings.s3_out_bucket, "out", hidden_prefixes=(THUMBS_PREFIX,)),
            thumbs=S3Storage(client, settings.s3_out_bucket, "thumbs", prefix=THUMBS_PREFIX),
        )
    raise ValueError(f"MPR_STORAGE must be 'local' or 's3', got {settings.storage!r}")
