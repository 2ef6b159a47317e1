"""Bucket events against moto: `deploy_resources` wires the input bucket's object events to the SQS
queue, and `BucketEvents` (what the app runs with storage s3) turns them into assets and rule jobs
with no scan call. The same event twice makes one asset and one job; a removal marks the asset
missing; the reconciling listing registers an object whose event was lost; the app's lifespan
starts the reader."""
from __future__ import annotations

import asyncio
import json
import time

import pytest

from backend.awsdeploy.deploy import deploy_resources
from backend.awsdeploy.local import local_aws
from backend.catalog.presets import seed_builtin_presets
from backend.catalog.tables import AutomationRule, MediaAsset, TranscodeJob, TranscodePreset
from backend.jobs.bucket_events import BucketEvents, records
from backend.storage import open_storages

WAIT = 60.0


@pytest.fixture(scope="module")
def deployed():
    with local_aws() as aws:
        from backend.config import Settings

        base = Settings.from_env().with_(aws_endpoint_url=aws.endpoint, aws_region=aws.region,
                                         s3_in_bucket="events-in", s3_out_bucket="events-out", callback_secret="x")
        # moto's state is shared by every server in this process: names of our own, so that
        # tests/aws/test_deploy.py still finds nothing named mpr-* or dep-* (prefix "mpr")
        deployment = deploy_resources(base, "mpr-ffmpeg:test", prefix="evt", log=lambda line: None)
        assert deployment.settings["MPR_S3_EVENTS_QUEUE_URL"].endswith("/evt-input-events")
        yield aws, deployment.settings


@pytest.fixture
async def events(db, settings, deployed):
    aws, env = deployed
    s = settings.with_(database_url=db, storage="s3", aws_endpoint_url=aws.endpoint, aws_region=aws.region,
                       s3_in_bucket="events-in", s3_out_bucket="events-out",
                       s3_events_queue_url=env["MPR_S3_EVENTS_QUEUE_URL"], watch_reconcile_seconds=0)
    for obj in aws.client("s3").list_objects_v2(Bucket="events-in").get("Contents", []):
        aws.client("s3").delete_object(Bucket="events-in", Key=obj["Key"])
    drain(aws, s.s3_events_queue_url)
    await seed_builtin_presets()
    preset = await TranscodePreset.select(TranscodePreset.id).where(TranscodePreset.name == "H.264 480p").first()
    await AutomationRule(name="uploads", preset_id=preset["id"], path_prefix="drop/").save()
    return BucketEvents(s, open_storages(s)), aws, s


def drain(aws, url: str) -> None:
    """Receive and delete until the queue is empty (PurgeQueue may run once a minute)."""
    sqs = aws.client("sqs")
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages"):
        for m in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


async def poll_until(reader: BucketEvents, check, what: str):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        await reader.poll_once(wait=1)
        value = await check()
        if value:
            return value
    raise AssertionError(f"not within {WAIT} s: {what}")


def test_records_of_an_s3_event():
    body = json.dumps({"Records": [
        {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "a+b%2Fc.mp4", "eTag": "e1"}}},
        {"eventName": "ObjectRemoved:Delete", "s3": {"bucket": {"name": "b"}, "object": {"key": "x.mp4"}}},
        {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "other"}, "object": {"key": "y.mp4"}}},
        {"eventName": "ObjectRestore:Post", "s3": {"bucket": {"name": "b"}, "object": {"key": "z.mp4"}}},
    ]})
    assert records(body, "b") == [("created", "a b/c.mp4", "e1"), ("removed", "x.mp4", "")]
    assert records(json.dumps({"Message": body}), "b")[0][1] == "a b/c.mp4"  # through SNS
    assert records('{"Event": "s3:TestEvent"}', "b") == [] and records("not json", "b") == []


async def test_an_object_put_becomes_an_asset_and_a_rule_job_once(events, aws_clips):
    reader, aws, s = events
    s3, sqs = aws.client("s3"), aws.client("sqs")
    s3.put_object(Bucket="events-in", Key="drop/clip one.mp4", Body=aws_clips["tiny"].read_bytes())

    # the event as SQS delivers it, kept to deliver it again below
    deadline = time.monotonic() + WAIT
    messages = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=s.s3_events_queue_url, WaitTimeSeconds=1).get("Messages", [])
    [message] = messages
    await reader.handle(message["Body"])
    sqs.delete_message(QueueUrl=s.s3_events_queue_url, ReceiptHandle=message["ReceiptHandle"])
    [asset] = await MediaAsset.select().where(MediaAsset.storage_area == "in")
    assert (asset["storage_key"], asset["status"]) == ("drop/clip one.mp4", "ready")
    head = s3.head_object(Bucket="events-in", Key="drop/clip one.mp4")
    assert asset["etag"] == head["ETag"].strip('"')
    [job] = await TranscodeJob.select(TranscodeJob.source, TranscodeJob.output_key)
    assert job == {"source": asset["id"], "output_key": "clip one-h-264-480p.mp4"}

    # the same event delivered twice (at-least-once): nothing new
    sqs.send_message(QueueUrl=s.s3_events_queue_url, MessageBody=message["Body"])
    handled = reader.handled
    await poll_until(reader, lambda: _true(reader.handled > handled), "the repeated event handled")
    assert await MediaAsset.count().where(MediaAsset.storage_area == "in") == 1
    assert await TranscodeJob.count() == 1

    # an object outside the rule's prefix: an asset, no job; then removed: missing
    s3.put_object(Bucket="events-in", Key="other.mp4", Body=aws_clips["tiny"].read_bytes())
    await poll_until(reader, lambda: _status("other.mp4", "ready"), "other.mp4 ready")
    assert await TranscodeJob.count() == 1
    s3.delete_object(Bucket="events-in", Key="other.mp4")
    await poll_until(reader, lambda: _status("other.mp4", "missing"), "other.mp4 missing")


async def test_reconciling_listing_catches_a_lost_event(events, aws_clips):
    reader, aws, s = events
    aws.client("s3").put_object(Bucket="events-in", Key="drop/lost.mp4", Body=aws_clips["tiny"].read_bytes())
    drain(aws, s.s3_events_queue_url)  # the event never arrives
    await reader.reconcile()
    assert await _status("drop/lost.mp4", "ready")
    assert await TranscodeJob.count() == 1


async def test_the_app_starts_the_reader(events, aws_clips):
    from litestar.testing import AsyncTestClient

    from backend.api.app import create_app

    _, aws, s = events
    app = create_app(s, run_jobs=True, db_pool=False)
    async with AsyncTestClient(app=app):
        assert type(app.state.watcher).__name__ == "BucketEvents"
        aws.client("s3").put_object(Bucket="events-in", Key="drop/live.mp4", Body=aws_clips["tiny"].read_bytes())
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not await _status("drop/live.mp4", "ready"):
            await asyncio.sleep(0.2)
        assert await _status("drop/live.mp4", "ready")


async def _true(value: bool) -> bool:
    return value


async def _status(key: str, status: str):
    row = await MediaAsset.select(MediaAsset.status).where(MediaAsset.storage_key == key).first()
    return row is not None and row["status"] == status
