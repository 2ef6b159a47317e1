"""GraphQL: the analysis on MediaAsset (waveformUrl served through a signed /media link, markers,
loudness) and the loudness options of presets (createPreset/updatePreset, refusals)."""
from __future__ import annotations

from backend.media.analysis import decode_peaks
from backend.media.clips import generate_marked_clip

ASSET = """query($id: ID!) { asset(id: $id) { waveformUrl sceneCuts keyframes blackRanges { start end }
  silenceRanges { start end } loudness { integrated range truePeak } } }"""
CREATE = """mutation($input: PresetInput!) { createPreset(input: $input) { id loudnessTarget truePeakCeiling summary } }"""
UPDATE = """mutation($id: ID!, $input: PresetUpdateInput!) { updatePreset(id: $id, input: $input) {
  loudnessTarget truePeakCeiling } }"""


async def test_asset_analysis_fields_and_signed_waveform(gql, client, api_settings, storages):
    from backend.catalog.ingest import ingest_key

    generate_marked_clip(api_settings.in_root / "marked.mp4")
    row = await ingest_key(storages, "marked.mp4")
    asset = (await gql(ASSET, {"id": str(row.id)}))["asset"]
    assert [round(t) for t in asset["sceneCuts"]] == [3, 5, 6]
    assert [round(t) for t in asset["keyframes"]] == [0, 2, 4, 6]
    assert [(round(r["start"]), round(r["end"])) for r in asset["blackRanges"]] == [(5, 6)]
    assert [(round(r["start"]), round(r["end"])) for r in asset["silenceRanges"]] == [(3, 5)]
    loud = asset["loudness"]
    assert loud["integrated"] == row.loudness_integrated and loud["truePeak"] < -19 and loud["range"] >= 0
    url = asset["waveformUrl"]
    assert url.startswith("/media/thumbs/") and "sig=" in url
    got = await client.get(url)
    assert got.status_code == 200
    rate, pairs = decode_peaks(got.content)
    assert rate == 100 and len(pairs) > 700
    unsigned = await client.get(url.split("?")[0])
    assert unsigned.status_code == 403


async def test_preset_loudness_options(gql):
    base = {"name": "Podcast", "kind": "audio", "container": "m4a", "audioCodec": "aac"}
    made = (await gql(CREATE, {"input": {**base, "loudnessTarget": -16}}))["createPreset"]
    assert (made["loudnessTarget"], made["truePeakCeiling"]) == (-16.0, -1.0)
    assert "-16 LUFS" in made["summary"]
    changed = (await gql(UPDATE, {"id": made["id"], "input": {"loudnessTarget": -23, "truePeakCeiling": -2}}))
    assert changed["updatePreset"] == {"loudnessTarget": -23.0, "truePeakCeiling": -2.0}
    for bad, field in (({"loudnessTarget": -60}, "loudness_target"), ({"truePeakCeiling": -1}, "true_peak_ceiling"),
                       ({"loudnessTarget": -16, "truePeakCeiling": 3}, "true_peak_ceiling")):
        err = await gql.error(CREATE, {"input": {**base, "name": "bad", **bad}})
        assert err["extensions"]["code"] == "INVALID_PRESET" and field in err["message"], err
    err = await gql.error(CREATE, {"input": {"name": "copy", "kind": "copy", "container": "mp4", "loudnessTarget": -16}})
    assert err["extensions"]["code"] == "INVALID_PRESET"


async def test_the_app_backfills_assets_ingested_without_analysis(api_settings, storages, api_clip):
    """The backfill starts with the app: an asset ingested before analysis existed gets measured."""
    import asyncio
    import shutil

    from litestar.testing import AsyncTestClient

    from backend.api.app import create_app
    from backend.catalog.ingest import ingest_key
    from backend.catalog.tables import MediaAsset
    from backend.media.analysis import ANALYSIS_VERSION

    shutil.copyfile(api_clip, api_settings.in_root / "old.mp4")
    row = await ingest_key(storages, "old.mp4", analyze=False)
    assert (row.analysis_version, row.waveform_key) == (0, "")
    app = create_app(api_settings, run_jobs=True, db_pool=False)
    loop = asyncio.get_running_loop()
    async with AsyncTestClient(app=app):
        deadline = loop.time() + 60
        while loop.time() < deadline:
            saved = await MediaAsset.select(MediaAsset.analysis_version, MediaAsset.waveform_key,
                                            MediaAsset.loudness_integrated).where(MediaAsset.id == row.id).first()
            if saved["analysis_version"]:
                break
            await asyncio.sleep(0.1)
    assert saved["analysis_version"] == ANALYSIS_VERSION
    assert saved["waveform_key"] == f"{row.id}/waveform.peaks" and saved["loudness_integrated"] is not None
