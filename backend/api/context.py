"""What a resolver may reach: settings, storages, the per-request DataLoaders.

The GraphQL context is a dict (strawberry's Litestar integration adds `request`/`response`
or `socket`); MPR's part sits under the key "mpr". Use `api(info)` in resolvers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backend.api.loaders import Loaders
from backend.config import Settings
from backend.storage import Storages

CONTEXT_KEY = "mpr"


@dataclass
class ApiContext:
    settings: Settings
    storages: Storages
    runtime: Any = None  # backend.jobs.runtime.JobRuntime when this process runs jobs
    loaders: Loaders = field(default_factory=Loaders)


def api(info) -> ApiContext:
    return info.context[CONTEXT_KEY]
