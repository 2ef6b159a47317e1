"""The 'succeeded' callback of an output-template job (lambda/ladder_actions.py's package step),
applied directly: a report is recorded like the local executor records a template job (outputs
keyed under the job's folder, playbackUrl's key), and a report that points outside the job's
folder, or at files it does not list, fails the job instead of being recorded. Signed or not,
the Lambda's report is never trusted to name arbitrary keys. (End to end on moto:
tests/aws/test_executor_ladder.py.)"""
from __future__ import annotations

import pytest

from backend.catalog.templates import seed_builtin_templates
from backend.catalog.tables import OutputTemplate, TranscodeJob
from backend.jobs import lifecycle, service
from backend.jobs.callbacks import apply_callback
from backend.jobs.claim import claim_next

NONCE = "the-ladder-executions-nonce"


@pytest.fixture
async def template_job(db, settings, storages, presets, add_asset) -> dict:
    await seed_builtin_templates()
    template = await OutputTemplate.select(OutputTemplate.id).where(OutputTemplate.name == "Mobile ABR").first()
    asset = await add_asset("small")
    job = await service.create_job(settings, storages, source_id=asset["id"], template_id=template["id"])
    assert (await claim_next("local", "w1"))["id"] == job["id"]
    # dispatched: the row holds the execution's nonce, as the AWS executor stores it
    await TranscodeJob.update({TranscodeJob.callback_nonce: NONCE}).where(TranscodeJob.id == job["id"])
    return job


def report(folder: str, **changes) -> dict:
    output = {"key": folder, "playback": "master.m3u8", "primary": None, "note": "2 output(s) verified",
              "files": ["master.m3u8", "media_0.m3u8", "init-0.m4s", "seg-0-00001.m4s"],
              "outputs": [{"name": "720p", "role": "rendition", "status": "skipped", "reason": "too tall"},
                          {"name": "480p", "role": "rendition", "status": "succeeded", "key": "media_0.m3u8",
                           "segments": 1}],
              "plan": {"mode": "ladder", "steps": 2}}
    return {"attempt": 1, "status": "succeeded", "output": {**output, **changes}}


async def test_a_package_report_is_recorded_like_a_local_template_job(template_job, settings, storages):
    folder = template_job["output_key"].rsplit("/", 1)[0] + "/"
    local = settings.out_root / folder  # already here: nothing to fetch from the bucket
    local.mkdir(parents=True)
    for name in report(folder)["output"]["files"]:
        (local / name).write_text("#EXTM3U\n")
    reply = await apply_callback(template_job["id"], report(folder), storages, settings, nonce=NONCE)
    assert reply.accepted and reply.job_status == "succeeded"
    row = await lifecycle.load_job(template_job["id"])
    assert row["playback_key"] == folder + "master.m3u8" and row["output_asset"] is None
    assert [o.get("key") for o in row["outputs"]] == [None, folder + "media_0.m3u8"]
    assert row["plan"]["steps"] == 2 and row["plan"]["template"] == "Mobile ABR"
    assert (await lifecycle.history(row["id"]))[-1]["reason"] == "2 output(s) verified (on AWS)"


@pytest.mark.parametrize("changes, words", [
    ({"files": ["master.m3u8", "../other/x.m4s"]}, "is not a plain name inside the job's folder"),
    ({"files": ["master.m3u8", "/etc/passwd"]}, "is not a plain name inside the job's folder"),
    ({"key": "someone-else/"}, "the job's is"),
    ({"playback": "elsewhere.m3u8"}, "playback file 'elsewhere.m3u8' is not one of the listed files"),
    ({"files": ["master.m3u8"]}, "names a file the report does not list"),
    ({"files": []}, "lists no files"),
    ({"outputs": "all of them"}, "not a list of records"),
])
async def test_a_report_outside_the_job_s_folder_fails_the_job(template_job, settings, storages, changes, words):
    folder = template_job["output_key"].rsplit("/", 1)[0] + "/"
    reply = await apply_callback(template_job["id"], report(folder, **changes), storages, settings, nonce=NONCE)
    assert reply.accepted and reply.stop and reply.job_status == "failed"
    row = await lifecycle.load_job(template_job["id"])
    assert words in row["error"], row["error"]
    assert row["outputs"] == [] and row["playback_key"] == "" and row["output_asset"] is None
    assert not (settings.out_root / folder).exists()  # nothing was fetched
