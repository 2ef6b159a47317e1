"""What this installation is, for every edge that reports it: the database kind and the ffmpeg version.

Shared by GraphQL `systemStatus` (`backend.api.graphql`), `/healthz` and `/metrics` (`backend.api.http`),
so neither side imports the other for it.
"""
from __future__ import annotations

import asyncio

from piccolo.engine.postgres import PostgresEngine

from backend.catalog.tables import TranscodeJob
from backend.media.binaries import ffmpeg_version


async def ffmpeg_version_async() -> str:
    try:
        return await asyncio.to_thread(ffmpeg_version)
    except Exception as exc:  # a missing binary is a status to show, not a crash
        return f"unavailable ({exc})"


def database_kind() -> str:
    return "postgresql" if isinstance(TranscodeJob._meta.db, PostgresEngine) else "sqlite"
