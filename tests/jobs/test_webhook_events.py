"""Webhook events queued by the job lifecycle and ingest, and the outbox's own rules (claim leases,
backoff into failure, replay), on SQLite and PostgreSQL. Sending is tested with a real app process
and receiver in tests/faults/test_webhooks.py."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from backend.catalog import webhook_outbox, webhooks
from backend.catalog.ingest import ingest_key
from backend.catalog.tables import WebhookDelivery, WebhookEndpoint
from backend.jobs import lifecycle, service
from backend.jobs.claim import claim_next


@pytest.fixture
async def endpoints(db):
    webhooks._last_progress.clear()
    all_events, _ = await webhooks.create_endpoint("http://127.0.0.1:9/all", [])
    finished, _ = await webhooks.create_endpoint("https://example.org/done", ["job.succeeded", "job.failed"])
    return all_events["id"], finished["id"]


async def deliveries(endpoint_id: int | None = None) -> list[dict]:
    query = WebhookDelivery.select().order_by(WebhookDelivery.id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint == endpoint_id)
    return await query


async def test_a_job_s_changes_become_events_for_the_endpoints_that_want_them(
        endpoints, settings, storages, presets, add_asset):
    every, finished = endpoints
    asset = await add_asset("small")
    assert [d["event_type"] for d in await deliveries(every)] == ["asset.ready"]  # from the ingest
    job = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    await claim_next("local", "w1")
    assert await lifecycle.report_progress(job["id"], 1, progress=10.0)  # within 5 s of the claim: throttled
    assert await lifecycle.transition(job["id"], "succeeded", "output verified", expect_attempt=1)

    seen = [(d["event_type"], d["subject"]) for d in await deliveries(every)]
    subject = f"job:{job['id']}"
    assert seen == [("asset.ready", f"asset:{asset['id']}"), ("job.queued", subject), ("job.progressing", subject),
                    ("job.succeeded", subject)]
    done = await deliveries(finished)
    assert [d["event_type"] for d in done] == ["job.succeeded"]
    body = json.loads(done[0]["body"])
    assert body["type"] == "job.succeeded" and body["id"] == done[0]["event_id"]
    assert body["data"]["job"]["id"] == job["id"] and body["data"]["job"]["status"] == "succeeded"
    assert body["data"]["job"]["reason"] == "output verified"
    # one event, one id, one body for every endpoint that gets it
    same = [d for d in await deliveries() if d["event_type"] == "job.succeeded"]
    assert len({d["event_id"] for d in same}) == 1 and len({d["body"] for d in same}) == 1
    assert all(d["status"] == "pending" and d["attempts"] == 0 for d in await deliveries())


async def test_progress_is_throttled_per_job_and_endpoint(endpoints, settings, storages, presets, add_asset):
    every, _ = endpoints
    asset = await add_asset("small")
    job = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    await claim_next("local", "w1")
    for pct in (10.0, 20.0, 30.0):
        assert await lifecycle.report_progress(job["id"], 1, progress=pct)
    webhooks._last_progress.clear()  # as if another process reported: the table still says "sent < 5 s ago"
    assert await lifecycle.report_progress(job["id"], 1, progress=40.0)
    progressing = [d for d in await deliveries(every) if d["event_type"] == "job.progressing"]
    assert len(progressing) == 1
    # once the interval has passed, the next report is an event again
    await WebhookDelivery.update({WebhookDelivery.created_at: webhooks.now() - dt.timedelta(seconds=6)}).where(
        WebhookDelivery.event_type == "job.progressing")
    webhooks._last_progress.clear()
    assert await lifecycle.report_progress(job["id"], 1, progress=50.0)
    progressing = [json.loads(d["body"]) for d in await deliveries(every) if d["event_type"] == "job.progressing"]
    assert [p["data"]["job"]["progress"] for p in progressing] == [0.0, 50.0]


async def test_failed_and_cancelled_jobs_and_inactive_endpoints(endpoints, settings, storages, presets, add_asset):
    every, finished = endpoints
    await WebhookEndpoint.update({WebhookEndpoint.active: False}).where(WebhookEndpoint.id == every)
    asset = await add_asset("small")
    one = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    two = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    await service.cancel_job(two["id"])
    await claim_next("local", "w1")
    assert await lifecycle.transition(one["id"], "failed", "ffmpeg said no", error="ffmpeg said no")
    assert await deliveries(every) == []  # inactive: nothing queued
    done = await deliveries(finished)
    assert [d["event_type"] for d in done] == ["job.failed"]  # cancelled is not among what it wants
    assert json.loads(done[0]["body"])["data"]["job"]["error"] == "ffmpeg said no"


async def test_an_ingest_that_fails_is_an_asset_error_event(endpoints, settings, storages):
    every, _ = endpoints
    (settings.in_root / "not-video.mp4").write_bytes(b"this is no video at all" * 100)
    row = await ingest_key(storages, "not-video.mp4")
    assert row.status == "error"
    sent = await deliveries(every)
    assert [(d["event_type"], d["subject"]) for d in sent] == [("asset.error", f"asset:{row.id}")]
    asset = json.loads(sent[0]["body"])["data"]["asset"]
    assert asset["storage_key"] == "not-video.mp4" and asset["status"] == "error" and asset["error_message"]


async def test_claims_lease_rows_and_failures_back_off_until_the_window_ends(endpoints):
    every, _ = endpoints
    assert await webhooks.emit("asset.ready", "asset:1", {"asset": {"id": 1}}) == 1
    first = await webhook_outbox.claim_due(10, lease_seconds=60)
    assert len(first) == 1 and first[0].attempt == 1 and first[0].url == "http://127.0.0.1:9/all"
    assert first[0].secret.startswith("whsec_")
    assert await webhook_outbox.claim_due(10, lease_seconds=60) == []  # leased: nobody else sends it

    policy = webhook_outbox.RetryPolicy(base=100.0, window=3600.0)
    status = await webhook_outbox.record_attempt(first[0].id, ok=False, code=503, latency_ms=12, error="HTTP 503",
                                                 policy=policy)
    row = (await deliveries(every))[0]
    assert status == "pending" and row["attempts"] == 1 and row["response_code"] == 503
    wait = (row["next_attempt_at"] - row["last_attempt_at"]).total_seconds()
    assert 50.0 <= wait <= 100.0  # base, less up to half of it (jitter)
    for attempts in range(1, 8):
        assert 0.5 * min(3600, 100 * 2 ** (attempts - 1)) <= policy.delay(attempts) <= min(3600, 100 * 2 ** (attempts - 1))

    # the event is older than the window allows for another try: failed, never claimed again
    await WebhookDelivery.update({WebhookDelivery.created_at: webhooks.now() - dt.timedelta(hours=2),
                                  WebhookDelivery.next_attempt_at: webhooks.now()}).where(WebhookDelivery.id == row["id"])
    again = await webhook_outbox.claim_due(10, lease_seconds=60)
    assert [d.attempt for d in again] == [2]
    assert await webhook_outbox.record_attempt(row["id"], ok=False, code=None, latency_ms=None, error="refused",
                                               policy=policy) == "failed"
    assert await webhook_outbox.claim_due(10, lease_seconds=60) == []

    replay = await webhook_outbox.redeliver(row["id"])
    assert replay["event_id"] == row["event_id"] and replay["body"] == row["body"]
    assert replay["redelivery_of"] == row["id"] and replay["status"] == "pending" and replay["attempts"] == 0
    assert [d.id for d in await webhook_outbox.claim_due(10, lease_seconds=60)] == [replay["id"]]
    assert await webhook_outbox.record_attempt(replay["id"], ok=True, code=204, latency_ms=3, error="",
                                               policy=policy) == "delivered"


@pytest.mark.parametrize("url,field", [
    ("ftp://example.org/x", "url"), ("file:///etc/passwd", "url"), ("javascript:alert(1)", "url"),
    ("http://user:pw@example.org/", "url"), ("http:///nohost", "url"), ("", "url"),
    ("http://example.org:notaport/", "url"), ("http://example.org/a b", "url"),
])
async def test_endpoint_urls_are_http_or_https_only(db, url, field):
    with pytest.raises(webhooks.WebhookError) as err:
        await webhooks.create_endpoint(url, [])
    assert err.value.field == field
    assert await WebhookEndpoint.count() == 0


async def test_unknown_event_types_are_refused_and_secrets_never_listed(db):
    with pytest.raises(webhooks.WebhookError) as err:
        await webhooks.create_endpoint("http://127.0.0.1:1/", ["job.exploded"])
    assert err.value.field == "eventTypes"
    row, secret = await webhooks.create_endpoint("http://127.0.0.1:1/", ["job.failed", "asset.ready"])
    assert secret.startswith("whsec_") and len(secret) > 40 and "secret" not in row
    assert row["event_types"] == ["asset.ready", "job.failed"]
    assert all("secret" not in r for r in await webhooks.endpoints())
    assert await webhooks.delete_endpoint(row["id"]) and not await webhooks.delete_endpoint(row["id"])


async def test_a_description_with_nul_is_stored_without_it(db):
    row, _ = await webhooks.create_endpoint("http://127.0.0.1:1/", [], description="a\x00b" + "c" * 300)
    assert row["description"] == "ab" + "c" * 254
