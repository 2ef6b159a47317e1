"""What a resolver may reach: settings, storages, the per-request DataLoaders.

The GraphQL context is a dict (strawberry's Litestar integration adds `request`/`response`
or `socket`); MPR's part sits under the key "mpr". Use `api(info)` in resolvers.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from backend.api.loaders import Loaders
from backend.config import Settings
from backend.storage import LocalStorage, Storage, Storages

CONTEXT_KEY = "mpr"


@dataclass
class ApiContext:
    settings: Settings
    storages: Storages
    runtime: Any = None  # backend.jobs.runtime.JobRuntime when this process runs jobs
    loaders: Loaders = field(default_factory=Loaders)


@functools.lru_cache(maxsize=8192)
def _local_url(storage: Storage, key: str) -> str:
    return storage.playback_url(key)


def playback_url(storage: Storage, key: str) -> str:
    """storage.playback_url(key); local URLs never change, so they are remembered (S3 URLs expire)."""
    if isinstance(storage, LocalStorage):
        return _local_url(storage, key)
    return storage.playback_url(key)


def api(info) -> ApiContext:
    return info.context[CONTEXT_KEY]
