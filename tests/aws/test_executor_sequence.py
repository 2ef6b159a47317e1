"""Sequence renders through the AWS executor, end to end on moto: the real app plans the clips
(`aws_plan.sequence_mode`) and starts the deployed sequence state machine
(sfn/transcode-sequence.asl.json), whose Map runs the real handler's sequence actions
(lambda/sequence_actions.py: one Lambda per clip or part, conformed with the job's own preset,
the sequence's audio once beside them) with real FFmpeg on S3 objects; the join checks the output
(frame count, A/V, every cut frame against its source) and calls back over real HTTP to the app's
signed callback route, which registers the output. The output is read back from the bucket and
checked again here. Runs on SQLite and PostgreSQL (the `db` fixture).
"""
from __future__ import annotations

import asyncio

import pytest
from app_helpers import add_asset, preset_id, wait_job
from aws_helpers import fetch_output, states_entered, wait_execution

from backend.catalog.tables import MediaAsset
from backend.jobs import lifecycle, sequences
from backend.jobs.executors import aws_plan
from backend.media.chunking import stream_stats
from backend.media.clips import generate_clip
from backend.media.probe import probe
from backend.media.sequence import ClipRange, SequenceCanvas, clip_frames
from backend.media.sequence_verify import check_cut, verify_sequence

pytestmark = [pytest.mark.slow, pytest.mark.aws]


@pytest.fixture(scope="module")
def sources(clips_dir) -> dict[str, object]:
    """Three sources of different sizes and rates; the 24 fps one has no audio."""
    folder = clips_dir / "aws-sequence"
    folder.mkdir(exist_ok=True)
    return {
        "wide": generate_clip(folder / "wide.mp4", duration=3, width=640, height=360, fps=30),
        "small": generate_clip(folder / "small.mov", duration=2.5, width=320, height=240, fps=25,
                               sample_rate=44100, channels=1),
        "silent": generate_clip(folder / "silent.mp4", duration=2.5, width=480, height=270, fps=24, audio=False),
    }


async def test_three_clip_sequence_renders_through_the_map_and_the_callback(app, moto_stack, sources, tmp_path,
                                                                           monkeypatch):
    # a Lambda budget so small that the longest clip's estimate needs two parts: the parts path runs too
    monkeypatch.setattr(aws_plan, "BUDGET_SECONDS", 0.3)  # half: 0.15 s; clip 1 needs ~0.22 s
    assets = {name: await add_asset(app, path, f"seq/{path.name}") for name, path in sources.items()}
    ranges = [("wide", 0.5, 2.5), ("small", 0.2, 1.4), ("silent", 1.0, 2.0)]
    made = await sequences.create_sequence("AWS cut", [{"sourceId": assets[n]["id"], "start": a, "end": b}
                                                       for n, a, b in ranges])
    created = await sequences.render_sequence(app.settings, app.storages, made["id"], await preset_id("H.264 480p"),
                                              output_name="aws-sequence")
    assert created["executor"] == "aws"
    row = await wait_job(created["id"], timeout=300)
    assert row["status"] == "succeeded", row["error"]
    row = await lifecycle.load_job(row["id"])  # JSON columns decoded
    assert row["progress"] == 100.0 and row["output_asset"]

    # the plan: recorded before the execution started, the run's record merged by the callback
    canvas = SequenceCanvas.from_dict(row["spec"]["sequence"]["canvas"])
    assert (canvas.width, canvas.height, canvas.fps, canvas.audio) == (640, 360, 30.0, True)
    frames = [clip_frames(a, b, canvas.fps) for _, a, b in ranges]
    assert frames == [60, 36, 30]
    plan = row["plan"]
    assert (plan["mode"], plan["state_machine"], plan["clips"]) == ("sequence", "sequence", 3)
    assert plan["clip_parts"] == [2, 1, 1] and plan["items"] == 4 and plan["frames"] == 126
    assert "cut into parts" in plan["reason"]
    assert plan["clip_frames"] == frames and plan["frames_out"] == 126
    assert len(plan["cuts"]) == 6 and all(c["ssim"] >= 0.97 for c in plan["cuts"])  # the join's check, reported
    items = row["spec"]["plan"]["items"]
    assert [(c["clip"], c["first"], c["frames"]) for c in items] == [(0, 0, 30), (0, 30, 30), (1, 0, 36), (2, 0, 30)]
    assert f":execution:mpr-transcode-sequence:job-{row['id']}-attempt-1" in row["execution_id"]
    in_bucket = app.settings.s3_in_bucket
    assert {c["input"]["bucket"] for c in row["spec"]["sequence"]["clips"]} == {in_bucket}

    # the Map ran one Lambda per item, the audio once, then the join; no single-pass run
    desc = await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"])
    assert desc["status"] == "SUCCEEDED"
    entered = states_entered(moto_stack, row["execution_id"])
    assert entered.count("EncodeClip") == 4 and entered.count("EncodeAudio") == 1
    assert entered[-2:] == ["Join", "Done"]
    encodes = moto_stack.results_for(row["id"], "sequence_clip")
    assert sorted((r["result"]["index"], r["result"]["frames"]) for r in encodes) == [(0, 30), (1, 30), (2, 36), (3, 30)]
    assert moto_stack.results_for(row["id"]) == []
    assert [r["result"]["key"] is not None for r in moto_stack.results_for(row["id"], "sequence_audio")] == [True]
    [join] = moto_stack.results_for(row["id"], "sequence_join")
    assert join["result"]["frames"] == 126

    # the output in the bucket, checked again here against the local sources
    out = tmp_path / "sequence.mp4"
    head, info = fetch_output(moto_stack, row["output_key"], out)
    assert head["ContentType"] == "video/mp4"
    assert (info.video.width, info.video.height, info.audio.codec) == (640, 360, "aac")
    paths = [sources[n] for n, _, _ in ranges]
    clips = [ClipRange(a, b, probe(sources[n])) for n, a, b in ranges]
    check = verify_sequence(out, canvas, clips, paths)
    assert check.frames == 126 and len(check.cuts) == 6
    assert abs(check.audio_duration - check.video_duration) <= 1 / canvas.fps
    # inside the clip made of two parts, the frames either side of the join are the right ones too
    for frame in (29, 30):
        check_cut(out, frame, paths[0], clips[0], canvas, 0, "part", frame, frames[0])
    assert stream_stats(out).video_frames == 126

    # registered as an asset; the usual three steps of history; no work objects left
    out_asset = await MediaAsset.select().where(MediaAsset.id == row["output_asset"]).first()
    assert out_asset["storage_key"] == row["output_key"]
    assert out_asset["duration"] == pytest.approx(126 / 30, abs=0.05)
    assert [h["to_status"] for h in await lifecycle.history(row["id"])] == ["queued", "running", "succeeded"]
    listing = moto_stack.aws.client("s3").list_objects_v2(Bucket=app.settings.s3_out_bucket, Prefix="_chunks/")
    assert not [o["Key"] for o in listing.get("Contents", []) if f"job-{row['id']}-attempt-1/" in o["Key"]]


async def test_a_damaged_clip_source_fails_the_job_naming_the_clip(app, moto_stack, sources, aws_clips):
    """The second clip's source is replaced in the bucket by garbage after it was registered: its
    Map item fails (not retried), the Catch reports it, the job fails naming the clip, and nothing
    lands in the output bucket."""
    good = await add_asset(app, sources["small"], "seq/fail-good.mov")
    bad = await add_asset(app, sources["wide"], "seq/fail-soon-corrupt.mp4")
    moto_stack.aws.client("s3").upload_file(str(aws_clips["garbage"]), app.settings.s3_in_bucket,
                                            "seq/fail-soon-corrupt.mp4")
    made = await sequences.create_sequence("AWS fails", [{"sourceId": good["id"], "start": 0.0, "end": 1.0},
                                                         {"sourceId": bad["id"], "start": 0.5, "end": 1.5}])
    created = await sequences.render_sequence(app.settings, app.storages, made["id"], await preset_id("H.264 480p"),
                                              output_name="aws-sequence-fails")
    row = await wait_job(created["id"], timeout=180)
    assert row["status"] == "failed", row
    # the clip or the audio reading that source fails first; either way the error names the object, never the
    # presigned URL FFmpeg was given (its signature)
    assert "ChunkFailed" in row["error"] and "s3://mpr-test-in/seq/fail-soon-corrupt.mp4" in row["error"], row["error"]
    assert "Signature=" not in row["error"] and "http" not in row["error"]
    desc = await asyncio.to_thread(wait_execution, moto_stack, row["execution_id"])
    assert desc["status"] == "FAILED"
    entered = states_entered(moto_stack, row["execution_id"])
    assert "ReportFailure" in entered and "Join" not in entered
    listing = moto_stack.aws.client("s3").list_objects_v2(Bucket=app.settings.s3_out_bucket,
                                                          Prefix=row["output_key"])
    assert not listing.get("Contents")
    assert [h["to_status"] for h in await lifecycle.history(row["id"])] == ["queued", "running", "failed"]
