"""Forgetting an asset, with the jobs that depend on it (called by GraphQL `deleteAsset`).

Refused while a queued or running job uses the asset (as source or output). Otherwise, in one
transaction: the jobs that used it as source go (with their history), jobs that made it as
output keep their row but lose the link, and the asset row goes. Then its thumbnails are removed
from storage, and the file itself when asked; a file that cannot be removed is reported, not fatal.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from backend.catalog.statuses import ACTIVE
from backend.catalog.tables import JobTransition, MediaAsset, TranscodeJob
from backend.jobs.errors import DomainError, not_found
from backend.storage import StorageError, Storages


@dataclass
class AssetDeletion:
    asset_id: int
    removed_files: list[str] = field(default_factory=list)  # "area/key" of each object removed
    removed_jobs: int = 0
    message: str = ""


async def delete_source_jobs(asset_id: int) -> list[int]:
    """Delete the jobs that used `asset_id` as source (and their history), unlink it as an output;
    returns the deleted job ids. Run inside the caller's transaction."""
    job_ids = [r["id"] for r in await TranscodeJob.select(TranscodeJob.id).where(TranscodeJob.source == asset_id)]
    if job_ids:
        await JobTransition.delete().where(JobTransition.job.is_in(job_ids))
        await TranscodeJob.delete().where(TranscodeJob.id.is_in(job_ids))
    await TranscodeJob.update({TranscodeJob.output_asset: None}).where(TranscodeJob.output_asset == asset_id)
    return job_ids


async def delete_asset(storages: Storages, asset_id: int, delete_file: bool) -> AssetDeletion:
    row = await MediaAsset.select().where(MediaAsset.id == asset_id).first()
    if row is None:
        raise not_found("asset", asset_id)
    busy = await TranscodeJob.select(TranscodeJob.id, TranscodeJob.status).where(
        ((TranscodeJob.source == asset_id) | (TranscodeJob.output_asset == asset_id))
        & TranscodeJob.status.is_in(list(ACTIVE))
    )
    if busy:
        ids = ", ".join(str(r["id"]) for r in busy[:10])
        raise DomainError(
            "ASSET_IN_USE",
            f"asset {row['filename']!r} is used by {len(busy)} queued or running job(s) ({ids}); "
            "cancel them or wait until they finish",
        )
    async with MediaAsset._meta.db.transaction():
        job_ids = await delete_source_jobs(asset_id)
        await MediaAsset.delete().where(MediaAsset.id == asset_id)

    removed: list[str] = []
    problems: list[str] = []
    targets = [("thumbs", row[k]) for k in ("poster_key", "filmstrip_key", "waveform_key") if row[k]]
    if delete_file:
        targets.append((row["storage_area"], row["storage_key"]))
    for area, key in targets:
        try:
            if await storages.get(area).delete(key):
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
    return AssetDeletion(asset_id=asset_id, removed_files=removed, removed_jobs=len(job_ids), message=message)
