"""renderSequence with an output template (issue 17): one job renders the sequence into an
intermediate, checks every cut, then makes every output of the template from it — a streaming
package read back with the real parsers (tests/streaming/package_checks.py), a file, a poster and
a storyboard — with job.outputs and job.playbackUrl as for a template job of one asset. And the
refusals: both ids, neither, an unknown template, the AWS executor, an audio-only template for a
silent sequence."""
from __future__ import annotations

import json

import m3u8
import pytest

from backend.catalog.tables import TranscodeJob
from backend.jobs import sequences
from backend.jobs.errors import DomainError
from backend.jobs.executors.local import LocalExecutor
from backend.pipeline import SPEC_VERSION
from tests.streaming.package_checks import dash_and_hls_agree, decodes, keyframe_starts, segment_bytes
from test_sequences import CREATE, assets, clip, sequence_clips  # noqa: F401 - the fixtures: 3 sources, 3 sizes and rates

RENDER = """mutation($id: ID!, $preset: ID, $template: ID, $name: String) {
  renderSequence(id: $id, presetId: $preset, templateId: $template, outputName: $name) {
    id status outputKey templateId sequenceId plan } }"""
JOB = """query($id: ID!) { job(id: $id) { status error plan playbackUrl storyboardUrl outputKey templateId
  outputAsset { filename width height }
  outputs { name role status reason key size bitrate peakBitrate width height segments verification url } } }"""
TEMPLATE = """mutation($input: TemplateInput!) { createTemplate(input: $input) { id } }"""
FPS = 30  # the highest source rate (wide.mp4): the sequence's and so the package's rate


def rung(name: str, height: int, kbps: int) -> dict:
    return {"role": "rendition", "preset": {"name": name, "kind": "video", "container": "mp4", "videoCodec": "libx264",
                                            "videoBitrate": kbps, "maxHeight": height, "audioCodec": "aac",
                                            "audioBitrate": 96, "speedPreset": "ultrafast"}}


@pytest.fixture
async def small_template(gql, presets) -> str:
    """720p (above every clip: skipped), 360p and 180p rungs, 1 s segments, a file, a poster, a storyboard."""
    made = await gql(TEMPLATE, {"input": {"name": "Small", "segmentSeconds": 1, "outputs": [
        rung("720p", 720, 1500), rung("360p", 360, 500), rung("180p", 180, 150),
        {"role": "file", "presetId": str(presets["H.264 480p"])},
        {"role": "poster", "preset": {"name": "poster", "kind": "image", "container": "jpg", "maxHeight": 360}},
        {"role": "storyboard", "interval": 1}]}})
    return made["createTemplate"]["id"]


def three_clips(assets) -> list[dict]:  # noqa: F811 - the fixture's value
    return [clip(assets["wide.mp4"], 0.5, 1.5), clip(assets["small clip.mov"], 0.2, 1.4),
            clip(assets["silent.mp4"], 1.0, 2.0)]


async def test_render_sequence_with_a_template_makes_every_output_from_the_sequence(
        gql, client, assets, small_template, api_settings, storages):  # noqa: F811
    made = (await gql(CREATE, {"name": "Three clips", "clips": three_clips(assets)}))["createSequence"]
    queued = (await gql(RENDER, {"id": made["id"], "template": small_template, "name": "three"}))["renderSequence"]
    assert queued["status"] == "QUEUED" and queued["templateId"] == small_template
    assert queued["outputKey"] == "three/master.m3u8" and queued["plan"]["mode"] == "sequence+template"

    executor = LocalExecutor(api_settings.with_(workers=2), storages, poll_seconds=0.2)
    await executor.start()
    try:
        await executor.drain(timeout=300)
    finally:
        await executor.stop()
    job = (await gql(JOB, {"id": queued["id"]}))["job"]
    assert job["status"] == "SUCCEEDED", job["error"]

    # the sequence stage: checked as every sequence render is, into a 640x360 intermediate (the largest clip)
    plan = job["plan"]
    frames = [30, 36, 30]  # at 30 fps: 1.0 s, 1.2 s, 1.0 s
    assert plan["mode"] == "sequence+template" and plan["clip_frames"] == frames
    assert plan["frames_out"] == sum(frames) and len(plan["cuts"]) == 6 and all(c["ssim"] >= 0.97 for c in plan["cuts"])
    assert (plan["intermediate"]["width"], plan["intermediate"]["height"]) == (640, 360)
    assert plan["renditions"] == ["360p", "180p", "audio 96k"] and plan["segment_seconds"] == 1.0

    # the template stage: job.outputs as for a template job of one asset
    by_name = {o["name"]: o for o in job["outputs"]}
    assert by_name["720p"]["status"] == "skipped" and "not upscaled" in by_name["720p"]["reason"]
    for name, size in (("360p", (640, 360)), ("180p", (320, 180))):
        out = by_name[name]
        assert out["status"] == "succeeded" and (out["width"], out["height"]) == size, out
        assert out["size"] > 0 and out["peakBitrate"] >= out["bitrate"] > 0 and "keyframe-aligned" in out["verification"]
    assert by_name["H.264 480p"]["status"] == by_name["poster"]["status"] == by_name["storyboard"]["status"] == "succeeded"
    assert job["outputAsset"]["filename"] == "H.264-480p.mp4"  # the first file output, as for a template job
    assert job["storyboardUrl"].endswith("/storyboard.vtt")
    url = job["playbackUrl"]
    assert url.startswith("/media/pkg/") and url.endswith("/three/master.m3u8")
    assert (await client.get(url)).status_code == 200  # the signed prefix covers the package

    # the package, read with the real parsers: every segment decodes and starts with a keyframe at
    # the same instants in both renditions, DASH and HLS agree, and it lasts the sequence
    folder = api_settings.out_root / "three"
    master = m3u8.load(str(folder / "master.m3u8"))
    assert sorted(tuple(v.stream_info.resolution) for v in master.playlists) == [(320, 180), (640, 360)]
    starts = keyframe_starts(folder, master)
    assert all(times == starts[0] for times in starts) and len(starts[0]) >= 3, starts
    dash_and_hls_agree(folder, master)
    for uri in [v.uri for v in master.playlists] + [m.uri for m in master.media]:
        media = m3u8.load(str(folder / uri))
        assert all(decodes(data) == "" for data in segment_bytes(folder, media)), uri
        assert sum(s.duration for s in media.segments) == pytest.approx(sum(frames) / FPS, abs=1.5 / FPS)
    assert not any(p.name.startswith("sequence-intermediate") for p in api_settings.out_root.rglob("*"))

    row = await TranscodeJob.select(TranscodeJob.spec).where(TranscodeJob.id == int(queued["id"])).first()
    spec = json.loads(row["spec"]) if isinstance(row["spec"], str) else row["spec"]  # SQLite gives the text
    assert spec["version"] == SPEC_VERSION == 4 and len(spec["sequence"]["clips"]) == 3
    assert spec["ladder"]["name"] == "Small" and spec["preset"]["name"] == "sequence mezzanine"
    assert spec["output"]["key"] == "three/" and "plan" not in spec


async def test_render_sequence_refuses_both_ids_neither_an_unknown_template_and_aws(
        gql, assets, presets, templates, small_template, api_settings, storages):  # noqa: F811
    made = (await gql(CREATE, {"name": "Three", "clips": three_clips(assets)}))["createSequence"]
    both = await gql.error(RENDER, {"id": made["id"], "preset": str(presets["H.264 720p"]), "template": small_template})
    assert both["extensions"]["code"] == "INVALID_INPUT" and "either presetId" in both["message"]
    neither = await gql.error(RENDER, {"id": made["id"]})
    assert neither["extensions"]["code"] == "INVALID_INPUT" and "either presetId" in neither["message"]
    unknown = await gql.error(RENDER, {"id": made["id"], "template": "999999"})
    assert unknown["extensions"]["code"] == "NOT_FOUND" and "template" in unknown["message"]

    with pytest.raises(DomainError, match="this machine's executor only") as refused:
        await sequences.render_sequence(api_settings.with_(executor="aws", sequence_state_machine_arn="arn:x"),
                                        storages, int(made["id"]), template_id=int(small_template))
    assert refused.value.code == "INVALID_INPUT" and "docs/sequences.md" in refused.value.message

    silent = (await gql(CREATE, {"name": "Silent", "clips": three_clips(assets)[2:]}))["createSequence"]
    err = await gql.error(RENDER, {"id": silent["id"], "template": str(templates["Audio ABR"])})
    assert err["extensions"]["code"] == "INVALID_TEMPLATE" and "no clip" in err["message"]
    assert await TranscodeJob.count() == 0
