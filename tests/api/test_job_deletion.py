"""deleteJob and deleteFinishedJobs: finished jobs and their history go (audited), queued and
running ones are refused or left, outputs stay in the library."""
from __future__ import annotations

from api_helpers import seed_jobs

from backend.catalog.tables import AuditEvent, JobTransition, MediaAsset, TranscodeJob

DELETE = 'mutation($id: ID!) { deleteJob(id: $id) { ids count } }'
BULK = 'mutation($s: [JobStatus!]) { deleteFinishedJobs(statuses: $s) { ids count } }'


async def _left() -> dict[int, str]:
    return {r["id"]: r["status"] for r in await TranscodeJob.select(TranscodeJob.id, TranscodeJob.status)}


async def test_delete_one_finished_job(gql, add_asset, presets):
    asset = await add_asset()
    ids = await seed_jobs(5, asset["id"], presets["H.264 480p"],
                          statuses=("queued", "running", "succeeded", "failed", "cancelled"))
    queued, running, succeeded, failed, cancelled = ids
    await TranscodeJob.update({TranscodeJob.output_asset: asset["id"]}).where(TranscodeJob.id == succeeded)

    assert (await gql(DELETE, {"id": str(failed)}))["deleteJob"] == {"ids": [str(failed)], "count": 1}
    assert await JobTransition.count().where(JobTransition.job == failed) == 0
    assert (await gql(DELETE, {"id": str(succeeded)}))["deleteJob"]["count"] == 1
    assert await MediaAsset.exists().where(MediaAsset.id == asset["id"])  # the output stays in the library
    for busy in (queued, running):
        err = await gql.error(DELETE, {"id": str(busy)})
        assert err["extensions"]["code"] == "JOB_ACTIVE" and "cancel it" in err["message"]
    assert (await gql.error(DELETE, {"id": str(failed)}))["extensions"]["code"] == "NOT_FOUND"
    assert set(await _left()) == {queued, running, cancelled}
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.object_id, AuditEvent.ok).where(
        AuditEvent.action == "deleteJob").order_by(AuditEvent.id)
    assert [(e["object_id"], e["ok"]) for e in events][:2] == [(str(failed), True), (str(succeeded), True)]
    assert (str(queued), False) in [(e["object_id"], e["ok"]) for e in events]


async def test_delete_finished_jobs_in_bulk(gql, add_asset, presets):
    asset = await add_asset()
    ids = await seed_jobs(10, asset["id"], presets["H.264 480p"],
                          statuses=("queued", "running", "succeeded", "failed", "cancelled"))
    only_cancelled = (await gql(BULK, {"s": ["CANCELLED"]}))["deleteFinishedJobs"]
    assert only_cancelled == {"ids": [str(ids[4]), str(ids[9])], "count": 2}
    everything = (await gql(BULK, {"s": None}))["deleteFinishedJobs"]
    assert everything["count"] == 4
    assert set((await _left()).values()) == {"queued", "running"}
    assert await JobTransition.count().where(JobTransition.job.is_in([int(i) for i in everything["ids"]])) == 0
    err = await gql.error(BULK, {"s": ["RUNNING"]})
    assert err["extensions"]["code"] == "INVALID_INPUT"
    assert len(await _left()) == 4
    assert (await gql(BULK, {"s": ["FAILED"]}))["deleteFinishedJobs"] == {"ids": [], "count": 0}
