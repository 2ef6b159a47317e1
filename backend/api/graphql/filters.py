"""WHERE clauses for the list queries: status filters and text search on filenames and tags.

Search is a case-insensitive substring match (ILIKE on PostgreSQL, LIKE on SQLite, which
ignores ASCII case), with the user's % and _ taken literally.
"""
from __future__ import annotations

from piccolo.columns.combination import WhereRaw
from piccolo.engine.postgres import PostgresEngine

from backend.catalog.tables import MediaAsset, TranscodeJob
from backend.jobs.errors import DomainError

MAX_SEARCH = 200

ASSET_AREAS = ("in", "out")  # where assets live: sources and outputs (thumbnails are never assets)


def _pattern(text: str) -> str:
    # PostgreSQL text holds no NUL (a parameter with one is refused): such a search matches as if it were a space
    escaped = text[:MAX_SEARCH].replace("\x00", " ").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _like() -> str:
    return "ILIKE" if isinstance(MediaAsset._meta.db, PostgresEngine) else "LIKE"


def asset_filters(statuses=None, search: str | None = None, area: str | None = None) -> list:
    where: list = []
    if statuses:
        where.append(MediaAsset.status.is_in([s.value for s in statuses]))
    if area:
        if area not in ASSET_AREAS:
            raise DomainError("INVALID_INPUT", f"area must be one of {', '.join(ASSET_AREAS)}")
        where.append(MediaAsset.storage_area == area)
    if search and search.strip():
        pattern, like = _pattern(search.strip()), _like()
        where.append(WhereRaw(
            f"(\"media_asset\".\"filename\" {like} {{}} ESCAPE '\\' "
            f"OR CAST(\"media_asset\".\"tags\" AS TEXT) {like} {{}} ESCAPE '\\')",
            pattern, pattern,
        ))
    return where


def job_filters(statuses=None, search: str | None = None, source_id: int | None = None) -> list:
    where: list = []
    if statuses:
        where.append(TranscodeJob.status.is_in([s.value for s in statuses]))
    if source_id is not None:
        where.append(TranscodeJob.source == source_id)
    if search and search.strip():
        pattern, like = _pattern(search.strip()), _like()
        where.append(WhereRaw(
            f"(\"transcode_job\".\"output_filename\" {like} {{}} ESCAPE '\\' "
            f"OR \"transcode_job\".\"source\" IN (SELECT \"id\" FROM \"media_asset\" "
            f"WHERE \"filename\" {like} {{}} ESCAPE '\\' OR CAST(\"tags\" AS TEXT) {like} {{}} ESCAPE '\\'))",
            pattern, pattern, pattern,
        ))
    return where
