"""Output-template (ABR ladder) jobs through the AWS executor, end to end on moto: the real app fits
the template and starts the deployed sfn/transcode-ladder.asl.json, whose Map runs the real
handler's `ladder_step` (one Lambda per rendition, plus the storyboard, poster and file) with
real FFmpeg on S3 objects; `ladder_package` segments the renditions into the HLS + DASH package in
the output bucket and calls back over real HTTP to the app's signed callback route, which records
the outputs as the local executor does. The package in the bucket is read back with the same
checks as the local one (tests/streaming/package_checks.py). Runs on SQLite and PostgreSQL.
"""
from __future__ import annotations

import asyncio
import json
import shutil

import m3u8
import pytest
from app_helpers import STALL, add_asset, serving, wait_job
from aws_helpers import states_entered, wait_execution

from backend.awsdeploy.local import free_port
from backend.catalog.ingest import ingest_key
from backend.catalog.tables import MediaAsset, OutputTemplate
from backend.catalog.templates import template_columns
from backend.jobs import lifecycle, service
from backend.jobs.executors import aws_plan
from backend.media.chunking import stream_stats
from backend.media.clips import generate_clip
from backend.media.presets import BUILTIN_PRESETS, PresetSpec
from backend.media.templates import TemplateOutput, TemplateSpec, validate_template
from tests.streaming.package_checks import dash_and_hls_agree, decodes, keyframe_starts, segment_bytes

pytestmark = [pytest.mark.slow, pytest.mark.aws]
FPS, SEG, SECONDS = 25, 2.0, 6.0


def download_folder(s3, bucket: str, folder: str, into):
    """Every object under `folder` in `bucket` into the new directory `into`; (the keys, `into`)."""
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=folder)["Contents"]}
    into.mkdir()
    for key in keys:
        s3.download_file(bucket, key, str(into / key[len(folder):]))
    return keys, into


def _rung(height: int, width: int, kbps: int) -> TemplateOutput:
    return TemplateOutput("rendition", PresetSpec(
        f"{height}p", "video", "mp4", video_codec="libx264", video_bitrate=kbps, speed_preset="veryfast",
        max_width=width, max_height=height, audio_codec="aac", audio_bitrate=128, channels=2))


TEMPLATE = TemplateSpec("AWS test ladder", (
    _rung(720, 1280, 1500), _rung(360, 640, 600), _rung(240, 426, 300),
    TemplateOutput("storyboard", None, 2.0),
    TemplateOutput("poster", PresetSpec("poster", "image", "jpg", video_codec="mjpeg", max_width=640, max_height=360)),
    TemplateOutput("file", next(p for p in BUILTIN_PRESETS if p.name == "H.264 480p")),
), segment_seconds=SEG)


@pytest.fixture(scope="module")
def clip_360p(clips_dir):
    return generate_clip(clips_dir / "aws-6s-360p.mp4", duration=SECONDS, width=640, height=360, fps=FPS)


async def test_template_job_runs_a_map_of_renditions_then_the_package(app, moto_stack, clip_360p, tmp_path):
    template = await OutputTemplate.insert(OutputTemplate(**template_columns(validate_template(TEMPLATE))))
    asset = await add_asset(app, clip_360p, "e2e/ladder.mp4")
    created = await service.create_job(app.settings, app.storages, source_id=asset["id"],
                                       template_id=template[0]["id"], output_name="ladder-e2e")
    assert created["executor"] == "aws"
    row = await wait_job(created["id"], timeout=300)
    assert row["status"] == "succeeded", row["error"]
    row = await lifecycle.load_job(row["id"])  # JSON columns decoded
    folder = row["output_key"].rsplit("/", 1)[0] + "/"  # ladder-e2e/ (-1/ when moto's bucket holds one)
    assert folder.startswith("ladder-e2e") and row["output_key"] == folder + "master.m3u8"
    assert row["progress"] == 100.0

    # the plan, recorded before the execution started: the fitted rungs and one step each
    plan = row["plan"]
    assert (plan["mode"], plan["state_machine"]) == ("ladder", "ladder")
    assert plan["renditions"] == ["360p", "240p", "audio 128k"]
    assert plan["skipped"] == ["720p: the source is 360 px high; renditions are not upscaled"]
    assert plan["steps"] == 6 and plan["segment_seconds"] == SEG
    steps = row["spec"]["plan"]["steps"]
    assert [s["step"] for s in steps] == ["rendition"] * 3 + ["storyboard", "file", "poster"]
    assert f":execution:mpr-transcode-ladder:job-{row['id']}-attempt-1" in row["execution_id"]

    desc = await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"])
    assert desc["status"] == "SUCCEEDED"
    entered = states_entered(moto_stack, row["execution_id"])
    assert entered.count("EncodeStep") == 6 and entered[-2:] == ["Package", "Done"]
    runs = moto_stack.results_for(row["id"], "ladder_step")
    assert sorted(json.dumps(r["event"]["step"], sort_keys=True) for r in runs) == \
        sorted(json.dumps(s, sort_keys=True) for s in steps)
    assert all(r["event"]["plan"] == row["spec"]["plan"] for r in runs)  # every Lambda read the same rungs
    assert len(moto_stack.results_for(row["id"], "ladder_package")) == 1
    assert moto_stack.results_for(row["id"]) == []  # no single-pass invocation

    # the outputs, recorded as the local executor records them
    by_name = {o["name"]: o for o in row["outputs"]}
    assert [o["name"] for o in row["outputs"]] == ["720p", "360p", "240p", "audio 128k", "storyboard",
                                                   "H.264 480p", "poster"]
    assert by_name["720p"]["status"] == "skipped" and "not upscaled" in by_name["720p"]["reason"]
    for name, index, size in (("360p", 0, (640, 360)), ("240p", 1, (426, 240))):
        out = by_name[name]
        assert (out["status"], out["key"], (out["width"], out["height"])) == \
            ("succeeded", f"{folder}media_{index}.m3u8", size)
        assert out["segments"] == 3 and out["peak_bitrate"] >= out["bitrate"] > 0
    assert by_name["storyboard"]["key"] == folder + "storyboard.vtt"
    assert by_name["poster"]["key"].startswith(folder) and by_name["poster"]["key"].endswith(".jpg")
    assert row["playback_key"] == folder + "master.m3u8"
    assert "skipped 720p" in (await lifecycle.history(row["id"]))[-1]["reason"]
    out_asset = await MediaAsset.select().where(MediaAsset.id == row["output_asset"]).first()
    assert out_asset["storage_key"] == by_name["H.264 480p"]["key"]
    assert out_asset["duration"] == pytest.approx(SECONDS, abs=0.1)

    # the package in the output bucket, read back with the local package's checks
    s3 = moto_stack.aws.client("s3")
    bucket = app.settings.s3_out_bucket
    keys, pkg = download_folder(s3, bucket, folder, tmp_path / "pkg")
    assert s3.head_object(Bucket=bucket, Key=folder + "master.m3u8")["ContentType"] == "application/vnd.apple.mpegurl"
    master = m3u8.load(str(pkg / "master.m3u8"))
    assert len(master.playlists) == 2 and len(master.media) == 1
    for uri in [v.uri for v in master.playlists] + [m.uri for m in master.media]:
        media = m3u8.load(str(pkg / uri))
        # every rendition's segments are in the bucket, each decodes
        assert {folder + media.segment_map[0].uri, *(folder + s.uri for s in media.segments)} <= keys
        assert all(decodes(data) == "" for data in segment_bytes(pkg, media)), uri
        assert sum(s.duration for s in media.segments) == pytest.approx(SECONDS, abs=2.0 / FPS)
        if uri in [v.uri for v in master.playlists]:
            assert all(s.duration <= SEG + 1.0 / FPS + 1e-6 for s in media.segments)
    starts = keyframe_starts(pkg, master)
    assert starts[0] == [0.0, 2.0, 4.0] and all(times == starts[0] for times in starts), starts
    dash_and_hls_agree(pkg, master)
    for variant in master.playlists:  # BANDWIDTH is the measured peak (video + the audio group's)
        peak = max((pkg / s.uri).stat().st_size * 8 / s.duration for s in m3u8.load(str(pkg / variant.uri)).segments)
        assert peak < variant.stream_info.bandwidth <= 1.1 * (peak + 200_000)
    assert (pkg / "storyboard.vtt").read_text().count("#xywh=") == 3

    # the work objects are gone; history is the usual three steps
    work = s3.list_objects_v2(Bucket=bucket, Prefix=f"_chunks/job-{row['id']}-attempt-1/ladder/")
    assert not work.get("Contents")
    assert [h["to_status"] for h in await lifecycle.history(row["id"])] == ["queued", "running", "succeeded"]


async def test_a_long_rendition_runs_in_parts_joined_before_the_package(app, moto_stack, clip_360p, tmp_path,
                                                                      monkeypatch):
    """A Lambda budget so small that both video renditions need parts (360p: 3 of one segment each,
    240p: 2 of two segments; the audio stays whole): the Map runs one Lambda per part, the package
    step joins each rendition's parts by stream copy and cuts the same package a single run per
    rendition makes — keyframes at the same instants in every rendition, every frame once."""
    monkeypatch.setattr(aws_plan, "BUDGET_SECONDS", 0.3)  # half: 0.15 s; 360p needs ~0.55 s, 240p ~0.24 s
    template = await OutputTemplate.insert(OutputTemplate(**template_columns(validate_template(
        TemplateSpec("AWS ladder in parts", TEMPLATE.outputs[1:3], segment_seconds=SEG)))))
    asset = await add_asset(app, clip_360p, "e2e/ladder-parts.mp4")
    created = await service.create_job(app.settings, app.storages, source_id=asset["id"],
                                       template_id=template[0]["id"], output_name="ladder-parts")
    row = await wait_job(created["id"], timeout=300)
    assert row["status"] == "succeeded", row["error"]
    row = await lifecycle.load_job(row["id"])
    folder = row["output_key"].rsplit("/", 1)[0] + "/"
    assert row["progress"] == 100.0 and row["playback_key"] == folder + "master.m3u8"

    # the plan: parts of whole segments, recorded with the job and carried by every Lambda's event
    plan = row["plan"]
    assert plan["renditions"] == ["360p", "240p", "audio 128k"] and plan["rendition_parts"] == [3, 2, 1]
    assert plan["steps"] == 6 and "in 3 parts" in plan["reason"] and "joins the parts" in plan["reason"]
    steps = row["spec"]["plan"]["steps"]
    assert [(s["index"], s.get("part"), s.get("first"), s.get("frames")) for s in steps] == [
        (0, 0, 0, 50), (0, 1, 50, 50), (0, 2, 100, 50), (1, 0, 0, 100), (1, 1, 100, 50), (2, None, None, None)]
    desc = await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"])
    assert desc["status"] == "SUCCEEDED"
    entered = states_entered(moto_stack, row["execution_id"])
    assert entered.count("EncodeStep") == 6 and entered[-2:] == ["Package", "Done"]
    runs = moto_stack.results_for(row["id"], "ladder_step")
    assert sorted(f["name"] for r in runs for f in r["result"]["files"]) == [
        "rendition-0-part-000.mp4", "rendition-0-part-001.mp4", "rendition-0-part-002.mp4",
        "rendition-1-part-000.mp4", "rendition-1-part-001.mp4", "rendition-2.mp4"]
    assert len(moto_stack.results_for(row["id"], "ladder_package")) == 1

    # the outputs, registered and verified as a single run per rendition records them
    assert [(o["name"], o["status"]) for o in row["outputs"]] == \
        [("360p", "succeeded"), ("240p", "succeeded"), ("audio 128k", "succeeded")]
    assert [o["segments"] for o in row["outputs"][:2]] == [3, 3]
    assert all("keyframe-aligned" in o["verification"] for o in row["outputs"][:2])

    # the package, read back: every segment decodes and starts with a keyframe at 0, 2 and 4 s in
    # every rendition, none longer than the target + 1 frame, every source frame once, the audio whole
    s3 = moto_stack.aws.client("s3")
    bucket = app.settings.s3_out_bucket
    _, pkg = download_folder(s3, bucket, folder, tmp_path / "pkg")
    master = m3u8.load(str(pkg / "master.m3u8"))
    assert len(master.playlists) == 2 and len(master.media) == 1
    source = stream_stats(clip_360p)
    for n, uri in enumerate([v.uri for v in master.playlists] + [m.uri for m in master.media]):
        media = m3u8.load(str(pkg / uri))
        data = segment_bytes(pkg, media)
        assert all(decodes(d) == "" for d in data), uri
        track = tmp_path / f"track-{n}.mp4"  # the init segment and every media segment: the whole track
        track.write_bytes((pkg / media.segment_map[0].uri).read_bytes()
                          + b"".join((pkg / seg.uri).read_bytes() for seg in media.segments))
        stats = stream_stats(track)
        if uri in [v.uri for v in master.playlists]:
            assert all(s.duration <= SEG + 1.0 / FPS + 1e-6 for s in media.segments)
            assert stats.video_frames == source.video_frames == FPS * SECONDS, uri
        else:
            assert stats.audio_duration == pytest.approx(source.audio_duration, abs=1024 / 48000 + 1e-6)
    starts = keyframe_starts(pkg, master)
    assert starts[0] == [0.0, 2.0, 4.0] and all(times == starts[0] for times in starts), starts
    dash_and_hls_agree(pkg, master)
    work = s3.list_objects_v2(Bucket=bucket, Prefix=f"_chunks/job-{row['id']}-attempt-1/ladder/")
    assert not work.get("Contents")
    assert [h["to_status"] for h in await lifecycle.history(row["id"])] == ["queued", "running", "succeeded"]


async def test_a_failing_step_fails_the_job_and_nothing_lands_in_its_folder(app, moto_stack, aws_clips):
    """Every step reads a source damaged after it was registered: the steps fail (StepFailed, not
    retried), the Catch reports it, the job fails with the reason and the folder stays empty."""
    template = await OutputTemplate.insert(OutputTemplate(**template_columns(validate_template(
        TemplateSpec("AWS failing ladder", TEMPLATE.outputs[1:3], segment_seconds=SEG)))))
    asset = await add_asset(app, aws_clips["tiny"], "e2e/ladder-soon-corrupt.mp4")
    moto_stack.aws.client("s3").upload_file(str(aws_clips["garbage"]), app.settings.s3_in_bucket,
                                            "e2e/ladder-soon-corrupt.mp4")
    created = await service.create_job(app.settings, app.storages, source_id=asset["id"],
                                       template_id=template[0]["id"], output_name="ladder-fails")
    row = await wait_job(created["id"], timeout=120)
    assert row["status"] == "failed", row
    assert "StepFailed" in row["error"] and "cannot be read as media" in row["error"], row["error"]
    desc = await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"])
    assert desc["status"] == "FAILED"
    entered = states_entered(moto_stack, row["execution_id"])
    assert "ReportFailure" in entered and "Package" not in entered
    folder = row["output_key"].rsplit("/", 1)[0] + "/"
    listing = moto_stack.aws.client("s3").list_objects_v2(Bucket=app.settings.s3_out_bucket, Prefix=folder)
    assert not listing.get("Contents")
    done = await lifecycle.load_job(row["id"])
    assert done["outputs"] == [] and done["playback_key"] == "" and done["output_asset"] is None
    assert [h["to_status"] for h in await lifecycle.history(row["id"])] == ["queued", "running", "failed"]


async def test_local_storage_gets_the_package_back_from_the_bucket(db, settings, moto_stack, aws_clips, monkeypatch):
    """MPR_STORAGE=local + MPR_EXECUTOR=aws: the package comes back into media/out/<folder>/ when the
    job succeeds (and leaves the bucket), playable from there."""
    port = free_port()
    s = moto_stack.settings(settings, storage="local", database_url=db, host="127.0.0.1", port=port,
                            callback_url=f"http://127.0.0.1:{port}", stall_seconds=STALL)
    for name, value in {"AWS_ENDPOINT_URL": s.aws_endpoint_url, "AWS_DEFAULT_REGION": s.aws_region,
                        "MPR_S3_IN_BUCKET": s.s3_in_bucket, "MPR_S3_OUT_BUCKET": s.s3_out_bucket}.items():
        monkeypatch.setenv(name, value)  # the callback route reads where to fetch from the environment
    async with serving(s, moto_stack) as app:
        template = await OutputTemplate.insert(OutputTemplate(**template_columns(validate_template(
            TemplateSpec("AWS local-storage ladder", (_rung(240, 426, 300), _rung(180, 320, 200)),
                         segment_seconds=1.0)))))
        shutil.copyfile(aws_clips["tiny"], s.in_root / "ladder clip.mp4")
        asset = await ingest_key(app.storages, "ladder clip.mp4", "in")
        created = await service.create_job(s, app.storages, source_id=asset.id, template_id=template[0]["id"],
                                           output_name="ladder-local")
        row = await wait_job(created["id"], timeout=120)
        assert row["status"] == "succeeded", row["error"]
        row = await lifecycle.load_job(row["id"])
        folder = row["output_key"].rsplit("/", 1)[0] + "/"
        assert row["playback_key"] == folder + "master.m3u8"
        assert [o["name"] for o in row["outputs"]] == ["240p", "180p", "audio 128k"]
        local = s.out_root / folder
        master = m3u8.load(str(local / "master.m3u8"))
        assert sorted(tuple(v.stream_info.resolution) for v in master.playlists) == [(240, 180), (320, 240)]
        for uri in [v.uri for v in master.playlists] + [m.uri for m in master.media]:
            media = m3u8.load(str(local / uri))
            assert len(media.segments) >= 2 and all(decodes(d) == "" for d in segment_bytes(local, media))
        assert all(t == [0.0, 1.0] for t in keyframe_starts(local, master))
        dash_and_hls_agree(local, master)
        left = moto_stack.aws.client("s3").list_objects_v2(Bucket=s.s3_out_bucket, Prefix=folder)
        assert not left.get("Contents")  # fetched, then removed from the bucket
