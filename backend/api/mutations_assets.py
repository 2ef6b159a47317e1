"""Asset mutations: scanMediaFolder, uploadAsset, updateAsset, deleteAsset."""
from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from backend.api.context import api
from backend.api.ids import parse_id
from backend.api.inputs import UpdateAssetRequest, clean_comments, clean_display_name, clean_tags, given
from backend.api.types import DeleteResult, MediaAsset, ScanResult
from backend.api.uploads import safe_upload_name, upload_chunks
from backend.catalog.ingest import IngestRefused, ingest_key, scan
from backend.catalog.tables import JobTransition
from backend.catalog.tables import MediaAsset as AssetTable
from backend.catalog.tables import TranscodeJob as JobTable
from backend.jobs.errors import DomainError, not_found
from backend.storage import StorageError, safe_key

ACTIVE = ("queued", "running")


async def _asset_row(asset_id: int) -> dict:
    row = await AssetTable.select().where(AssetTable.id == asset_id).first()
    if row is None:
        raise not_found("asset", asset_id)
    return row


async def _discard(storage, key: str) -> None:
    try:
        await storage.delete(key)
    except StorageError:
        pass


async def _delete_asset(ctx, asset_id: int, delete_file: bool) -> DeleteResult:
    row = await _asset_row(asset_id)
    busy = await JobTable.select(JobTable.id, JobTable.status).where(
        ((JobTable.source == asset_id) | (JobTable.output_asset == asset_id)) & JobTable.status.is_in(list(ACTIVE))
    )
    if busy:
        ids = ", ".join(str(r["id"]) for r in busy[:10])
        raise DomainError(
            "ASSET_IN_USE",
            f"asset {row['filename']!r} is used by {len(busy)} queued or running job(s) ({ids}); "
            "cancel them or wait until they finish",
        )
    job_ids = [r["id"] for r in await JobTable.select(JobTable.id).where(JobTable.source == asset_id)]
    async with AssetTable._meta.db.transaction():
        if job_ids:
            await JobTransition.delete().where(JobTransition.job.is_in(job_ids))
            await JobTable.delete().where(JobTable.id.is_in(job_ids))
        await JobTable.update({JobTable.output_asset: None}).where(JobTable.output_asset == asset_id)
        await AssetTable.delete().where(AssetTable.id == asset_id)

    removed: list[str] = []
    problems: list[str] = []
    targets = [("thumbs", row[k]) for k in ("poster_key", "filmstrip_key") if row[k]]
    if delete_file:
        targets.append((row["storage_area"], row["storage_key"]))
    for area, key in targets:
        try:
            if await ctx.storages.get(area).delete(key):
                removed.append(f"{area}/{key}")
        except StorageError as exc:
            problems.append(f"{area}/{key}: {exc}")
    parts = [f"deleted asset {row['filename']!r}"]
    if job_ids:
        parts.append(f"{len(job_ids)} job(s) that used it as source")
    message = " and ".join(parts)
    if delete_file:
        message += "; file removed" if f"{row['storage_area']}/{row['storage_key']}" in removed else "; file was already gone"
    else:
        message += f"; file kept at {row['storage_area']}/{row['storage_key']}"
    if problems:
        message += "; could not remove: " + "; ".join(problems)
    return DeleteResult(id=strawberry.ID(str(asset_id)), deleted=True, removed_files=removed,
                        removed_jobs=len(job_ids), message=message)


@strawberry.type
class AssetMutations:
    @strawberry.mutation(description="Register new and changed files of the input storage (under `prefix`).")
    async def scan_media_folder(self, info: strawberry.Info, prefix: str = "") -> ScanResult:
        ctx = api(info)
        if prefix:
            prefix = safe_key(prefix)
        result = await scan(ctx.storages, prefix)
        return ScanResult(added=result.added, updated=result.updated, unchanged=result.unchanged,
                          errors=result.errors, skipped=list(result.skipped), _asset_ids=list(result.asset_ids))

    @strawberry.mutation(description="Upload a file (GraphQL multipart request) into the input storage and register it.")
    async def upload_asset(self, info: strawberry.Info, file: Upload, filename: str | None = None) -> MediaAsset:
        ctx = api(info)
        if not callable(getattr(file, "read", None)):
            raise DomainError("INVALID_INPUT", "file must be sent as a GraphQL multipart upload")
        name = safe_upload_name(filename or getattr(file, "filename", None))
        storage = ctx.storages.input
        key = await storage.unique_key(name)
        try:
            await storage.write_stream(key, upload_chunks(file), ctx.settings.max_upload_bytes)
        finally:
            close = getattr(file, "close", None)
            if close is not None:
                await close()
        try:  # checked by probing, not by name: no media at all, or over the source limits, is not kept
            row = await ingest_key(ctx.storages, key, "in", refuse=True)
        except IngestRefused as exc:
            await _discard(storage, key)
            raise DomainError(exc.code, f"{name} was refused and not kept: {exc.reason}") from None
        return MediaAsset.from_row(await _asset_row(row.id))

    @strawberry.mutation(description="Change an asset's display name, tags or comments.")
    async def update_asset(self, info: strawberry.Info, id: strawberry.ID, input: UpdateAssetRequest) -> MediaAsset:
        asset_id = parse_id(id, "asset id")
        await _asset_row(asset_id)
        changes = given(input)
        values = {}
        if "filename" in changes:
            values[AssetTable.filename] = clean_display_name(changes["filename"])
        if "tags" in changes:
            values[AssetTable.tags] = clean_tags(changes["tags"])
        if "comments" in changes:
            values[AssetTable.comments] = clean_comments(changes["comments"])
        if values:
            await AssetTable.update(values).where(AssetTable.id == asset_id)
        return MediaAsset.from_row(await _asset_row(asset_id))

    @strawberry.mutation(description="Forget an asset (and jobs that used it as source); deleteFile also removes the file.")
    async def delete_asset(self, info: strawberry.Info, id: strawberry.ID, delete_file: bool = False) -> DeleteResult:
        return await _delete_asset(api(info), parse_id(id, "asset id"), delete_file)
