"""Sequences over GraphQL: CRUD, rename and duplicate over real HTTP (uvicorn + httpx) with their audit
events; impossible clips refused before anything is saved or queued; renderSequence end to end on
the local executor (3 sources of different sizes and rates, one without audio) with the job's
snapshot and the verified cuts in its plan; export → import round trips (otio, edl, fcpxml, xml)
give the same clips to the frame; an EDL with an unmatched reel reports it and imports the rest."""
from __future__ import annotations

import asyncio
import json
import shutil

import httpx
import pytest

from api_helpers import AUTH
from backend.api.app import create_app
from backend.catalog.ingest import ingest_key
from backend.catalog.tables import AuditEvent, Sequence as SequenceTable, TranscodeJob
from backend.jobs import sequences
from backend.jobs.errors import DomainError
from backend.jobs.executors.local import LocalExecutor
from backend.media.chunking import stream_stats
from backend.media.clips import generate_clip
from backend.pipeline import SPEC_VERSION

SEQ = "id name duration clips { sourceId start end duration source { filename } }"
CREATE = f"mutation($name: String!, $clips: [SequenceClipInput!]) {{ createSequence(name: $name, clips: $clips) {{ {SEQ} }} }}"
UPDATE = f"mutation($id: ID!, $clips: [SequenceClipInput!], $name: String) {{ updateSequence(id: $id, clips: $clips, name: $name) {{ {SEQ} }} }}"
DUPLICATE = f"mutation($id: ID!, $name: String) {{ duplicateSequence(id: $id, name: $name) {{ {SEQ} }} }}"
DELETE = "mutation($id: ID!) { deleteSequence(id: $id) { deleted message } }"
LIST = "{ sequences { id name } }"
ONE = f"query($id: ID!) {{ sequence(id: $id) {{ {SEQ} }} }}"
RENDER = """mutation($id: ID!, $preset: ID!, $name: String) { renderSequence(id: $id, presetId: $preset, outputName: $name) {
  id status sequenceId sequenceSnapshot duration plan } }"""
JOB = "query($id: ID!) { job(id: $id) { status error plan outputFilename outputAsset { duration width height } } }"
EXPORT = "query($id: ID!, $format: SequenceFormat!) { exportSequence(id: $id, format: $format) }"
IMPORT = """mutation($format: SequenceFormat!, $content: String!, $name: String, $rate: Float) {
  importSequence(format: $format, content: $content, name: $name, rate: $rate) {
    unmatched sequence { id name clips { sourceId start end } } clips { index name reel matched sourceId message } } }"""


@pytest.fixture(scope="module")
def sequence_clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sequence-api")
    return {
        "wide.mp4": generate_clip(folder / "wide.mp4", duration=3, width=640, height=360, fps=30),
        "small clip.mov": generate_clip(folder / "small clip.mov", duration=2.5, width=320, height=240, fps=25,
                                        sample_rate=44100, channels=1),
        "silent.mp4": generate_clip(folder / "silent.mp4", duration=2.5, width=480, height=270, fps=24, audio=False),
    }


@pytest.fixture
async def assets(api_settings, storages, sequence_clips) -> dict[str, dict]:
    rows = {}
    for name, path in sequence_clips.items():
        dest = api_settings.in_root / "seq" / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
        row = await ingest_key(storages, f"seq/{name}", "in")
        assert row.status == "ready", row.error_message
        rows[name] = row.to_dict()
    return rows


def clip(asset: dict, start: float, end: float) -> dict:
    return {"sourceId": str(asset["id"]), "start": start, "end": end}


def four_clips(assets) -> list[dict]:
    return [clip(assets["wide.mp4"], 0.5, 1.5), clip(assets["small clip.mov"], 0.2, 1.4),
            clip(assets["silent.mp4"], 1.0, 2.0), clip(assets["wide.mp4"], 2.0, 2.8)]


async def post(http: httpx.AsyncClient, query: str, variables: dict) -> dict:
    resp = await http.post("/graphql", json={"query": query, "variables": variables}, headers=AUTH)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_sequence_crud_rename_duplicate_over_http_with_audit(api_settings, live_server, assets):
    server = live_server(create_app(api_settings, run_jobs=False, db_pool=False))
    async with httpx.AsyncClient(base_url=server.url) as http:
        body = await post(http, CREATE, {"name": "Cut 1", "clips": four_clips(assets)[:2]})
        made = body["data"]["createSequence"]
        assert made["name"] == "Cut 1" and made["duration"] == pytest.approx(2.2)
        assert [(c["source"]["filename"], c["start"], c["end"]) for c in made["clips"]] == [
            ("wide.mp4", 0.5, 1.5), ("small clip.mov", 0.2, 1.4)]

        body = await post(http, UPDATE, {"id": made["id"], "clips": four_clips(assets)})
        assert len(body["data"]["updateSequence"]["clips"]) == 4
        body = await post(http, UPDATE, {"id": made["id"], "name": "Cut 1 (final)"})
        renamed = body["data"]["updateSequence"]
        assert renamed["name"] == "Cut 1 (final)" and len(renamed["clips"]) == 4  # a rename keeps the clips

        copy = (await post(http, DUPLICATE, {"id": made["id"]}))["data"]["duplicateSequence"]
        assert copy["id"] != made["id"] and copy["name"] == "Cut 1 (final) copy" and copy["clips"] == renamed["clips"]
        listed = (await post(http, LIST, {}))["data"]["sequences"]
        assert {s["name"] for s in listed} == {"Cut 1 (final)", "Cut 1 (final) copy"}

        deleted = (await post(http, DELETE, {"id": copy["id"]}))["data"]["deleteSequence"]
        assert deleted["deleted"] and "Cut 1 (final) copy" in deleted["message"]
        assert (await post(http, ONE, {"id": copy["id"]}))["data"]["sequence"] is None
        assert (await post(http, ONE, {"id": made["id"]}))["data"]["sequence"]["name"] == "Cut 1 (final)"
        # sources of different sizes and rates: no stream copy, and the API says why, per clip
        check = (await post(http, "query($id: ID!) { sequence(id: $id) { streamCopy { possible reasons } } }",
                            {"id": made["id"]}))["data"]["sequence"]["streamCopy"]
        assert not check["possible"] and any(r.startswith("clip 2 (small clip.mov) is ") for r in check["reasons"])

        # impossible clips: refused, nothing saved
        silent = assets["silent.mp4"]
        cases = [([clip(silent, 1.0, 1.0)], "must come after start"),
                 ([clip(silent, 1.5, 0.5)], "must come after start"),
                 ([clip(silent, 1.0, 9.0)], "past the end of the clip"),
                 ([clip(silent, 3.0, 3.5)], "at or past the end"),
                 ([{"sourceId": "999999", "start": 0, "end": 1}], "asset 999999 does not exist")]
        for clips, words in cases:
            body = await post(http, UPDATE, {"id": made["id"], "clips": [clip(silent, 0, 1), *clips]})
            err = body["errors"][0]
            assert err["extensions"]["code"] == "INVALID_SEQUENCE" and "clip 2" in err["message"], err
            assert words in err["message"], err
        assert len((await post(http, ONE, {"id": made["id"]}))["data"]["sequence"]["clips"]) == 4
        err = (await post(http, CREATE, {"name": "  "}))["errors"][0]
        assert err["extensions"]["code"] == "INVALID_SEQUENCE"

    events = await AuditEvent.select().where(AuditEvent.object_type == "sequence").order_by(AuditEvent.id)
    assert [(e["action"], e["ok"]) for e in events] == [
        ("createSequence", True), ("updateSequence", True), ("updateSequence", True), ("duplicateSequence", True),
        ("deleteSequence", True), *[("updateSequence", False)] * 5, ("createSequence", False)]
    assert events[4]["object_id"] == copy["id"] and "INVALID_SEQUENCE" in events[-1]["detail"]
    assert await SequenceTable.count() == 1


async def test_render_sequence_end_to_end_on_the_local_executor(gql, assets, presets, api_settings, storages):
    made = (await gql(CREATE, {"name": "Four clips", "clips": four_clips(assets)}))["createSequence"]
    job = (await gql(RENDER, {"id": made["id"], "preset": str(presets["H.264 720p"]), "name": "four"}))["renderSequence"]
    assert job["status"] == "QUEUED" and job["sequenceId"] == made["id"] and job["plan"]["mode"] == "sequence"
    snap = job["sequenceSnapshot"]
    assert snap["name"] == "Four clips" and [c["name"] for c in snap["clips"]] == [
        "wide.mp4", "small clip.mov", "silent.mp4", "wide.mp4"]
    assert snap["clips"][2]["info"]["audio"] is None
    # the snapshot is the sequence as rendered: later edits do not change the job
    await gql(UPDATE, {"id": made["id"], "clips": four_clips(assets)[:1]})

    executor = LocalExecutor(api_settings.with_(workers=2), storages, poll_seconds=0.2)
    await executor.start()
    try:
        for _ in range(900):
            done = (await gql(JOB, {"id": job["id"]}))["job"]
            if done["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            await asyncio.sleep(0.1)
    finally:
        await executor.stop()
    assert done["status"] == "SUCCEEDED", done["error"]
    frames = [30, 36, 30, 24]  # at 30 fps: 1.0 s, 1.2 s, 1.0 s, 0.8 s
    plan = done["plan"]
    assert plan["clip_frames"] == frames and plan["frames_out"] == sum(frames) and len(plan["cuts"]) == 8
    assert all(c["ssim"] >= 0.97 for c in plan["cuts"])
    assert (done["outputAsset"]["width"], done["outputAsset"]["height"]) == (640, 360)
    stats = stream_stats(api_settings.out_root / done["outputFilename"])
    assert stats.video_frames == sum(frames) and abs(stats.audio_duration - stats.video_duration) <= 1 / 30
    row = await TranscodeJob.select(TranscodeJob.spec).where(TranscodeJob.id == int(job["id"])).first()
    spec = json.loads(row["spec"]) if isinstance(row["spec"], str) else row["spec"]  # SQLite gives the text
    assert spec["version"] == SPEC_VERSION and len(spec["sequence"]["clips"]) == 4


async def test_impossible_renders_are_refused_before_a_job_starts(gql, assets, presets, api_settings):
    made = (await gql(CREATE, {"name": "One", "clips": four_clips(assets)[:1]}))["createSequence"]
    audio = next(name for name in presets if name.startswith("Audio") or "MP3" in name or "AAC" in name)
    err = await gql.error(RENDER, {"id": made["id"], "preset": str(presets[audio])})
    assert err["extensions"]["code"] == "INVALID_PRESET" and "video preset" in err["message"]
    empty = (await gql(CREATE, {"name": "Empty"}))["createSequence"]
    err = await gql.error(RENDER, {"id": empty["id"], "preset": str(presets["H.264 720p"])})
    assert err["extensions"]["code"] == "INVALID_SEQUENCE" and "no clips" in err["message"]
    # a clip's source deleted after the sequence was saved
    await SequenceTable.update({SequenceTable.clips: [{"sourceId": 999999, "start": 0, "end": 1}]}).where(
        SequenceTable.id == int(empty["id"]))
    err = await gql.error(RENDER, {"id": empty["id"], "preset": str(presets["H.264 720p"])})
    assert err["extensions"]["code"] == "INVALID_SEQUENCE" and "does not exist" in err["message"]
    assert await TranscodeJob.count() == 0


async def test_aws_installations_without_the_sequence_machine_refuse_sequence_renders(gql, assets, presets,
                                                                                      api_settings, storages):
    made = (await gql(CREATE, {"name": "One", "clips": four_clips(assets)[:1]}))["createSequence"]
    with pytest.raises(DomainError, match="MPR_SEQUENCE_STATE_MACHINE_ARN") as refused:
        await sequences.render_sequence(api_settings.with_(executor="aws", sequence_state_machine_arn=None), storages,
                                        int(made["id"]), presets["H.264 720p"])
    assert refused.value.code == "INVALID_INPUT" and "docs/sequences.md" in refused.value.message
    assert await TranscodeJob.count() == 0


@pytest.mark.parametrize("fmt", ["OTIO", "EDL", "FCPXML", "XML"])
async def test_export_import_round_trip_gives_the_same_clips_to_the_frame(gql, assets, fmt):
    made = (await gql(CREATE, {"name": "Round trip", "clips": four_clips(assets)}))["createSequence"]
    text = (await gql(EXPORT, {"id": made["id"], "format": fmt}))["exportSequence"]
    assert "wide.mp4" in text and "small clip.mov" in text
    result = (await gql(IMPORT, {"format": fmt, "content": text, "name": "Back"}))["importSequence"]
    assert result["unmatched"] == 0 and all(c["matched"] for c in result["clips"])
    back = result["sequence"]["clips"]
    assert [c["sourceId"] for c in back] == [c["sourceId"] for c in made["clips"]]
    rate = 30.0  # the sources' highest frame rate: the timeline's
    assert [(round(c["start"] * rate), round(c["end"] * rate)) for c in back] == \
        [(round(c["start"] * rate), round(c["end"] * rate)) for c in made["clips"]]
    assert all(abs(a["start"] - b["start"]) < 0.5 / rate and abs(a["end"] - b["end"]) < 0.5 / rate
               for a, b in zip(back, made["clips"]))


async def test_an_edl_with_an_unmatched_reel_reports_it_and_imports_the_rest(gql, assets):
    edl = """TITLE: From another tool
FCM: NON-DROP FRAME

001  WIDE     V     C        00:00:00:15 00:00:01:15 00:00:00:00 00:00:01:00
* FROM CLIP NAME:  wide.mp4
002  MISSING  V     C        00:00:01:00 00:00:02:00 00:00:01:00 00:00:02:00
* FROM CLIP NAME:  holiday-2019.mov
003  SILENT   V     C        00:00:01:00 00:00:01:12 00:00:02:00 00:00:02:12
* FROM CLIP NAME:  silent.mp4
"""
    result = (await gql(IMPORT, {"format": "EDL", "content": edl, "rate": 24}))["importSequence"]
    assert result["unmatched"] == 1
    missing = result["clips"][1]
    assert (missing["matched"], missing["name"], missing["reel"], missing["sourceId"]) == \
        (False, "holiday-2019.mov", "MISSING", None)
    assert "holiday-2019.mov" in missing["message"] and "MISSING" in missing["message"]
    seq = result["sequence"]
    assert seq["name"] == "From another tool"
    assert [(c["sourceId"], c["start"], c["end"]) for c in seq["clips"]] == [
        (str(assets["wide.mp4"]["id"]), 0.625, 1.625), (str(assets["silent.mp4"]["id"]), 1.0, 1.5)]
    err = await gql.error(IMPORT, {"format": "EDL", "content": "this is not an edl at all"})
    assert err["extensions"]["code"] in ("INVALID_INPUT", "INVALID_SEQUENCE")
