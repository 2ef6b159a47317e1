"""The executor re-validates the job's preset snapshot before it runs: an admin who edits
`preset_snapshot` in piccolo-admin (to inject an FFmpeg option, or any value createJob would have
refused) gets a failed job with a clear reason, and no runner, so no FFmpeg, is started."""
from __future__ import annotations

import json

import pytest

from backend.catalog.outputs import wait_for_thumbnails
from backend.catalog.tables import TranscodeJob
from backend.jobs import jobspec, service
from backend.jobs.executors import local as local_executor
from backend.jobs.executors.local import LocalExecutor
from backend.pipeline import Location, SpecError
from jobwait import wait_status

INJECTIONS = [
    {"speed_preset": "veryfast -vf drawtext=text=pwned"},
    {"video_codec": "libx264 -f lavfi -i /etc/passwd"},
    {"container": "mp4 -y /tmp/elsewhere.mp4"},
    {"crf": "23; rm -rf /"},
    {"kind": "exec"},
]


async def tamper(job_id: int, change: dict) -> None:
    row = await TranscodeJob.select(TranscodeJob.preset_snapshot).where(TranscodeJob.id == job_id).first()
    snapshot = row["preset_snapshot"]
    snapshot = json.loads(snapshot) if isinstance(snapshot, str) else snapshot  # raw JSON text on some engines
    await TranscodeJob.update({TranscodeJob.preset_snapshot: {**snapshot, **change}}).where(
        TranscodeJob.id == job_id)


@pytest.mark.parametrize("change", INJECTIONS, ids=lambda c: next(iter(c)))
async def test_build_spec_refuses_an_edited_snapshot(db, settings, storages, presets, add_asset, change):
    asset = await add_asset("small")
    job = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    row = await TranscodeJob.select().where(TranscodeJob.id == job["id"]).first()
    jobspec.build_spec(row, Location(area="in", key="a.mp4"), Location(area="out", key="b.mp4"))  # as created: fine
    await tamper(job["id"], change)
    row = await TranscodeJob.select().where(TranscodeJob.id == job["id"]).first()
    with pytest.raises(SpecError, match="recorded settings are not valid, so nothing ran: invalid preset"):
        jobspec.build_spec(row, Location(area="in", key="a.mp4"), Location(area="out", key="b.mp4"))


async def test_the_local_executor_fails_the_job_and_runs_nothing(db, settings, storages, presets, add_asset,
                                                                 monkeypatch):
    runs = []

    async def no_run(*args, **kwargs):
        runs.append(args)
        raise AssertionError("a runner was started for a tampered job")

    monkeypatch.setattr(local_executor, "run_single", no_run)
    monkeypatch.setattr(local_executor, "run_chunked", no_run)
    asset = await add_asset("small")
    job = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    await tamper(job["id"], {"speed_preset": "veryfast -vf drawtext=text=pwned"})
    ex = LocalExecutor(settings, storages, poll_seconds=0.2)
    await ex.start()
    try:
        done = await wait_status(job["id"])
    finally:
        await ex.stop()
        await wait_for_thumbnails()
    assert done["status"] == "failed"
    assert done["error"].startswith(jobspec.REFUSED) and "speed_preset" in done["error"], done["error"]
    assert runs == []
    assert not (json.loads(done["spec"]) if isinstance(done["spec"], str) else done["spec"])  # the refused spec was never recorded as what ran
    assert not (settings.out_root / done["output_key"]).exists()
