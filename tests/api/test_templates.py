"""Output templates over GraphQL (templates, createTemplate/updateTemplate/deleteTemplate, checked like
presets), and a template job end to end: createJob(templateId) on the local executor, job.outputs,
job.playbackUrl under a signed prefix that covers the package folder and nothing else."""
from __future__ import annotations

from urllib.parse import urljoin

import m3u8
import pytest

from backend.jobs.executors.local import LocalExecutor

LIST = "{ templates { id name builtin packaging segmentSeconds outputs { role preset interval summary } } }"
CREATE = """mutation($input: TemplateInput!) { createTemplate(input: $input) {
  id name builtin outputs { role preset interval } } }"""
UPDATE = "mutation($id: ID!, $input: TemplateUpdateInput!) { updateTemplate(id: $id, input: $input) { id name segmentSeconds } }"
DELETE = "mutation($id: ID!) { deleteTemplate(id: $id) { deleted message } }"
JOB = """query($id: ID!) { job(id: $id) { status error playbackUrl storyboardUrl templateId
  outputs { name role status reason key size bitrate peakBitrate width height segments verification url } } }"""


def rung(name: str, height: int, kbps: int) -> dict:
    return {"role": "rendition", "preset": {"name": name, "kind": "video", "container": "mp4", "videoCodec": "libx264",
                                            "videoBitrate": kbps, "maxHeight": height, "audioCodec": "aac",
                                            "audioBitrate": 96}}


async def test_builtin_templates_are_listed_and_read_only(gql, templates):
    data = await gql(LIST)
    by_name = {t["name"]: t for t in data["templates"]}
    assert {"Web ABR", "Mobile ABR", "Audio ABR", "Archive"} <= set(by_name)
    web = by_name["Web ABR"]
    assert web["builtin"] and web["packaging"] == "hls+dash" and web["segmentSeconds"] == 4.0
    assert [o["preset"]["max_height"] for o in web["outputs"] if o["role"] == "rendition"] == [1080, 720, 480, 360]
    assert by_name["Audio ABR"]["packaging"] == "hls"
    assert [o["role"] for o in by_name["Archive"]["outputs"]] == ["file", "poster", "storyboard"]
    err = await gql.error(DELETE, {"id": web["id"]})
    assert err["extensions"]["code"] == "TEMPLATE_READ_ONLY"


async def test_create_update_delete_a_template_checked_like_presets(gql, templates, presets):
    bad = {"name": "Bad", "outputs": [{"role": "rendition", "preset": {"name": "x", "kind": "video",
                                                                      "container": "mp4", "videoCodec": "libx264",
                                                                      "videoBitrate": 800}}]}
    err = await gql.error(CREATE, {"input": bad})
    assert err["extensions"]["code"] == "INVALID_TEMPLATE" and "max_height" in err["message"]
    err = await gql.error(CREATE, {"input": {"name": "Bad", "outputs": [rung("a", 360, 99_999_999)]}})
    assert err["extensions"]["code"] == "INVALID_TEMPLATE"  # the preset's own range check
    err = await gql.error(CREATE, {"input": {"name": "Bad", "segmentSeconds": 0.2, "outputs": [rung("a", 360, 500)]}})
    assert "segment_seconds" in err["message"]

    made = (await gql(CREATE, {"input": {"name": "Mine", "outputs": [
        rung("360p", 360, 600), rung("180p", 180, 200),
        {"role": "file", "presetId": str(presets["H.264 480p"])}, {"role": "storyboard", "interval": 3}]}}))["createTemplate"]
    assert not made["builtin"] and [o["role"] for o in made["outputs"]] == ["rendition", "rendition", "file", "storyboard"]
    assert made["outputs"][2]["preset"]["name"] == "H.264 480p" and made["outputs"][3]["interval"] == 3
    err = await gql.error(CREATE, {"input": {"name": "Mine", "outputs": [rung("a", 360, 500)]}})
    assert "exists" in err["message"]
    updated = (await gql(UPDATE, {"id": made["id"], "input": {"name": "Mine 2", "segmentSeconds": 2}}))["updateTemplate"]
    assert updated == {"id": made["id"], "name": "Mine 2", "segmentSeconds": 2.0}
    assert (await gql(DELETE, {"id": made["id"]}))["deleteTemplate"]["deleted"] is True


async def test_template_job_makes_a_package_played_through_a_signed_prefix(gql, client, api_settings, storages,
                                                                          templates, add_asset):
    asset = await add_asset()  # 320x240, 2 s
    created = await gql("""mutation($input: CreateJobInput!) { createJob(input: $input) { id outputKey } }""",
                        {"input": {"sourceId": str(asset["id"]), "templateId": str(templates["Mobile ABR"])}})
    job_id = created["createJob"]["id"]
    assert created["createJob"]["outputKey"].endswith("/master.m3u8")
    executor = LocalExecutor(api_settings, storages, poll_seconds=0.2)
    await executor.start()
    try:
        await executor.drain(timeout=120)
    finally:
        await executor.stop()
    job = (await gql(JOB, {"id": job_id}))["job"]
    assert job["status"] == "SUCCEEDED", job["error"]
    assert job["templateId"] == str(templates["Mobile ABR"])
    by_name = {o["name"]: o for o in job["outputs"]}
    assert by_name["720p"]["status"] == by_name["480p"]["status"] == "skipped"
    assert "not upscaled" in by_name["720p"]["reason"]
    rendition = by_name["240p"]
    assert rendition["status"] == "succeeded" and (rendition["width"], rendition["height"]) == (320, 240)
    assert rendition["size"] > 0 and rendition["peakBitrate"] >= rendition["bitrate"] > 0
    assert "keyframe-aligned" in rendition["verification"] and rendition["url"] is None
    assert by_name["storyboard"]["url"].endswith("/storyboard.vtt")

    url = job["playbackUrl"]
    assert url.startswith("/media/pkg/") and url.endswith("/master.m3u8")
    master = await client.get(url)  # no token: the link is its own proof
    assert master.status_code == 200 and master.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    variants = m3u8.loads(master.text).playlists
    assert len(variants) == 1
    media = await client.get(urljoin(url, variants[0].uri))
    assert media.status_code == 200
    playlist = m3u8.loads(media.text)
    for uri in [playlist.segment_map[0].uri, playlist.segments[0].uri]:
        seg = await client.get(urljoin(url, uri))
        assert seg.status_code == 200 and len(seg.content) > 0
    assert (await client.get(urljoin(job["storyboardUrl"], "storyboard-001.jpg"))).status_code == 200

    # the signature covers this folder only: another folder, a forged or a stripped signature get 403
    _, _, _, exp, sig, area, folder, _ = url.split("/", 7)
    other = api_settings.out_root / "other"
    other.mkdir()
    (other / "x.m3u8").write_text("#EXTM3U\n")
    assert (await client.get(f"/media/pkg/{exp}/{sig}/{area}/other/x.m3u8")).status_code == 403
    assert (await client.get(f"/media/pkg/{exp}/{'0' * len(sig)}/{area}/{folder}/master.m3u8")).status_code == 403
    assert (await client.get(f"/media/pkg/{int(exp) + 3600}/{sig}/{area}/{folder}/master.m3u8")).status_code == 403
    assert (await client.get(f"/media/pkg/{exp}/{sig}/{area}/{folder}/../other/x.m3u8")).status_code in (403, 404)
    assert (await client.get(f"/media/{area}/{folder}/master.m3u8")).status_code == 403  # unsigned plain link


async def test_create_job_needs_exactly_one_of_preset_and_template(gql, templates, presets, add_asset):
    asset = await add_asset()
    q = "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }"
    both = {"sourceId": str(asset["id"]), "presetId": str(presets["H.264 480p"]),
            "templateId": str(templates["Web ABR"])}
    assert (await gql.error(q, {"input": both}))["extensions"]["code"] == "INVALID_INPUT"
    assert (await gql.error(q, {"input": {"sourceId": str(asset["id"])}}))["extensions"]["code"] == "INVALID_INPUT"


async def test_template_jobs_are_accepted_for_the_aws_executor(api_settings, storages, templates, add_asset):
    """The AWS executor runs them too (sfn/transcode-ladder.asl.json; end to end in
    tests/aws/test_executor_ladder.py): the job is queued for it, with the template's snapshot."""
    from backend.jobs import service

    asset = await add_asset()
    job = await service.create_job(api_settings.with_(executor="aws"), storages, source_id=asset["id"],
                                   template_id=templates["Web ABR"])
    assert job["executor"] == "aws" and job["status"] == "queued"
    assert job["output_key"].endswith("/master.m3u8")