"""Downloads: `TranscodeJob.downloadUrl` is a signed `dl=1` link that /media answers as an attachment
(the signature covers `dl`, so a playback link cannot be turned into one or back), and a job whose
output asset was deleted offers no link and says so (`outputDeleted`)."""
from __future__ import annotations

import shutil

from api_helpers import seed_jobs

from backend.api.http import media_links
from backend.storage.local import file_version
from backend.catalog.ingest import ingest_key

JOB = 'query($id: ID!) { job(id: $id) { outputUrl downloadUrl outputDeleted outputAsset { id } } }'


async def _succeeded_job(api_settings, storages, api_clip, add_asset, presets, name="my cut ü.mp4"):
    source = await add_asset()
    shutil.copyfile(api_clip, api_settings.out_root / name)
    out = await ingest_key(storages, name, "out")
    (job_id,) = await seed_jobs(1, source["id"], presets["H.264 480p"], statuses=("succeeded",), output_asset=out.id)
    from backend.catalog.tables import TranscodeJob

    await TranscodeJob.update({TranscodeJob.output_key: name}).where(TranscodeJob.id == job_id)
    return job_id, out.id


async def test_download_link_is_an_attachment_with_the_output_bytes(gql, api_settings, storages, api_clip,
                                                                     add_asset, presets):
    job_id, _ = await _succeeded_job(api_settings, storages, api_clip, add_asset, presets)
    job = (await gql(JOB, {"id": str(job_id)}))["job"]
    assert job["outputDeleted"] is False and "dl=1" in job["downloadUrl"] and "dl=" not in job["outputUrl"]
    data = (api_settings.out_root / "my cut ü.mp4").read_bytes()

    saved = await gql.client.get(job["downloadUrl"])
    assert saved.status_code == 200 and saved.content == data
    disposition = saved.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="my cut _.mp4"')
    assert "filename*=UTF-8''my%20cut%20%C3%BC.mp4" in disposition
    assert saved.headers["content-type"] == "video/mp4"  # still the real type: only the disposition differs
    ranged = await gql.client.get(job["downloadUrl"], headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.content == data[:10] and "attachment" in ranged.headers["content-disposition"]

    played = await gql.client.get(job["outputUrl"])
    assert played.status_code == 200 and "content-disposition" not in played.headers


async def test_dl_is_covered_by_the_signature(client, api_settings):
    path = api_settings.out_root / "x.mp4"
    path.write_bytes(b"bytes")
    key = media_links.media_key(api_settings.api_token)
    exp = media_links.expiry()
    version = file_version(path)
    play = media_links.sign(key, "/media/out/x.mp4", exp, version=version)
    down = media_links.sign(key, "/media/out/x.mp4", exp, version=version, download=True)
    assert down != play.replace("?", "?dl=1&")
    assert (await client.get(play.replace("?", "?dl=1&"))).status_code == 403  # playback sig + dl: refused
    assert (await client.get(down.replace("dl=1&", ""))).status_code == 403  # download sig without dl: refused
    assert (await client.get(down.replace("dl=1", "dl=0"))).status_code == 403
    assert "attachment" in (await client.get(down)).headers["content-disposition"]
    token = {"Authorization": f"Bearer {api_settings.api_token}"}
    assert "attachment" in (await client.get("/media/out/x.mp4?dl=1", headers=token)).headers["content-disposition"]


async def test_a_deleted_output_offers_no_link(gql, api_settings, storages, api_clip, add_asset, presets):
    job_id, out_id = await _succeeded_job(api_settings, storages, api_clip, add_asset, presets, name="gone.mp4")
    await gql('mutation($id: ID!) { deleteAsset(id: $id, deleteFile: true) { deleted } }', {"id": str(out_id)})
    job = (await gql(JOB, {"id": str(job_id)}))["job"]
    assert job == {"outputUrl": None, "downloadUrl": None, "outputDeleted": True, "outputAsset": None}
    queued = await seed_jobs(1, (await add_asset("b.mp4"))["id"], presets["H.264 480p"])
    assert (await gql(JOB, {"id": str(queued[0])}))["job"]["outputDeleted"] is False
