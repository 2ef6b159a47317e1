"""Asset mutations: scanMediaFolder, startMediaScan (the same scan in the background), uploadAsset,
updateAsset, deleteAsset.

A scan or an upload that makes an asset ready applies the automation rules
(`backend.jobs.intake`); so does a change of an asset's tags (a rule may match on tags, and
fires at most once per version of the file).
"""
from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from backend.api.graphql.context import api
from backend.api.graphql.ids import parse_id
from backend.api.graphql.inputs import UpdateAssetRequest, clean_comments, clean_display_name, clean_tags, given
from backend.api.graphql.types import DeleteResult, MediaAsset, MediaScan, ScanResult
from backend.api.graphql.uploads import safe_upload_name, upload_chunks
from backend.catalog.ingest import IngestRefused, ingest_key
from backend.catalog.tables import MediaAsset as AssetTable
from backend.jobs.deletion import delete_asset
from backend.jobs.errors import DomainError, not_found
from backend.jobs import scans
from backend.jobs.intake import apply_safely, scan_and_apply
from backend.storage import StorageError, safe_key


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


@strawberry.type
class AssetMutations:
    @strawberry.mutation(description="Register new and changed files of the input storage (under `prefix`).")
    async def scan_media_folder(self, info: strawberry.Info, prefix: str = "") -> ScanResult:
        ctx = api(info)
        if prefix:
            prefix = safe_key(prefix)
        result = await scan_and_apply(ctx.settings, ctx.storages, prefix)
        return ScanResult(added=result.added, updated=result.updated, unchanged=result.unchanged,
                          errors=result.errors, skipped=list(result.skipped), _asset_ids=list(result.asset_ids))

    @strawberry.mutation(description="Start scanning the input storage (under `prefix`) in the background and return "
                                     "at once; poll `mediaScan(id)` for its progress. While a scan runs, this returns "
                                     "the running one.")
    async def start_media_scan(self, info: strawberry.Info, prefix: str = "") -> MediaScan:
        ctx = api(info)
        if prefix:
            prefix = safe_key(prefix)
        user_id = ctx.identity.user_id if ctx.identity is not None else None
        return MediaScan.from_run(scans.start(ctx.settings, ctx.storages, prefix, user_id))

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
        if ctx.identity is not None and ctx.identity.user_id is not None:
            await AssetTable.update({AssetTable.created_by: ctx.identity.user_id}).where(AssetTable.id == row.id)
        await apply_safely(ctx.settings, ctx.storages, row.id)
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
        if "tags" in changes:
            await apply_safely(api(info).settings, api(info).storages, asset_id)
        return MediaAsset.from_row(await _asset_row(asset_id))

    @strawberry.mutation(description="Forget an asset (and jobs that used it as source); deleteFile also removes the file.")
    async def delete_asset(self, info: strawberry.Info, id: strawberry.ID, delete_file: bool = False) -> DeleteResult:
        done = await delete_asset(api(info).storages, parse_id(id, "asset id"), delete_file)
        return DeleteResult(id=strawberry.ID(str(done.asset_id)), deleted=True, removed_files=done.removed_files,
                            removed_jobs=done.removed_jobs, message=done.message)
