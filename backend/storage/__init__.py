"""Where bytes live: the `Storage` protocol with a local-folder and an S3 backend, and playback URLs.

Knows nothing of the catalog, jobs or GraphQL. Import from here:
`from backend.storage import Storages, open_storages, StorageError, safe_key`.
"""
from backend.storage.base import ObjectInfo, Storage, StorageError, StorageTooLarge, content_type_for, safe_key
from backend.storage.local import LocalStorage
from backend.storage.storages import Storages, open_storages

__all__ = [
    "LocalStorage",
    "ObjectInfo",
    "S3Storage",
    "Storage",
    "StorageError",
    "StorageTooLarge",
    "Storages",
    "content_type_for",
    "open_storages",
    "safe_key",
]


def __getattr__(name):  # boto3 is imported only when S3 is used
    if name == "S3Storage":
        from backend.storage.s3 import S3Storage

        return S3Storage
    raise AttributeError(name)
