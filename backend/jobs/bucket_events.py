"""Bucket events: objects put into (or removed from) the S3 input bucket are registered, and the
rules applied, without a scan — the S3 counterpart of the watched folder (`backend.jobs.watch`).

`mpr aws deploy` / `mpr aws local` send the input bucket's ObjectCreated/ObjectRemoved
notifications to an SQS queue (with a dead-letter queue); `BucketEvents` long-polls it
(`MPR_S3_EVENTS_QUEUE_URL`, storage `s3`). Per record:

- **ObjectCreated**: `backend.jobs.intake.ingest_and_apply(key)` — the same path as a watched
  file. It compares the object's etag, size and mtime with the asset's row, so the same event
  delivered twice (SQS is at-least-once), or an event for an object already scanned, changes
  nothing: exactly once in effect, keyed on bucket + key + etag.
- **ObjectRemoved**: if the object is really gone, its asset becomes `missing`.
- another bucket, S3's `s3:TestEvent`, a body that is not an S3 event: dropped (logged).

A message is deleted once every record in it was handled; when handling raises (the database is
down) it is left, SQS shows it again after its visibility timeout, and after
`EVENTS_MAX_RECEIVES` receipts it lands in the dead-letter queue. Every
`MPR_WATCH_RECONCILE_SECONDS` (and at start) a reconciling listing of the bucket registers what
no event announced and marks vanished objects missing.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from urllib.parse import unquote_plus

from backend.catalog.ingest import input_rows, mark_missing
from backend.catalog.statuses import MISSING
from backend.config import Settings
from backend.jobs.intake import ingest_and_apply, scan_and_apply
from backend.storage import Storages

log = logging.getLogger("mpr.jobs.bucket_events")

WAIT_SECONDS = 10  # long-poll wait of one ReceiveMessage (SQS allows up to 20)
BATCH = 10  # messages per receive (the SQS maximum)


def records(body: str, bucket: str) -> list[tuple[str, str, str]]:
    """(kind 'created' | 'removed', key, etag) of each record of an S3 event message for `bucket`."""
    try:
        event = json.loads(body)
    except (TypeError, ValueError):
        return []
    if isinstance(event, dict) and "Message" in event and "Records" not in event:  # delivered through SNS
        return records(event["Message"], bucket)
    out = []
    for rec in (event.get("Records") or []) if isinstance(event, dict) else []:
        s3 = rec.get("s3") or {}
        name = (s3.get("bucket") or {}).get("name")
        obj = s3.get("object") or {}
        event_name = rec.get("eventName") or ""
        if name != bucket or "key" not in obj:
            continue
        kind = "created" if event_name.startswith("ObjectCreated") else (
            "removed" if event_name.startswith("ObjectRemoved") else "")
        if kind:
            out.append((kind, unquote_plus(obj["key"]), (obj.get("eTag") or "").strip('"')))
    return out


class BucketEvents:
    """Long-polls the events queue in this process; `start()` / `stop()` from the app's lifespan."""

    def __init__(self, settings: Settings, storages: Storages, client=None):
        self.settings = settings
        self.storages = storages
        self.queue_url = settings.s3_events_queue_url
        self._client = client
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.handled = 0  # records handled (tests and the bench read it)

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs", endpoint_url=self.settings.aws_endpoint_url,
                                        region_name=self.settings.aws_region)
        return self._client

    @property
    def _prefix(self) -> str:
        return getattr(self.storages.input, "prefix", "") or ""

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mpr-bucket-events")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()  # a long poll in its thread is left to finish by itself
            with contextlib.suppress(BaseException):
                await self._task

    async def _run(self) -> None:
        reconcile = asyncio.create_task(self._reconcile_loop(), name="mpr-bucket-reconcile")
        try:
            while not self._stop.is_set():
                try:
                    await self.poll_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("reading bucket events from %s failed; retrying in 5 s", self.queue_url)
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), timeout=5)
        finally:
            reconcile.cancel()
            with contextlib.suppress(BaseException):
                await reconcile

    async def poll_once(self, wait: int = WAIT_SECONDS) -> int:
        """One long poll: handle what came and delete what was handled; how many messages came."""
        reply = await asyncio.to_thread(self.client.receive_message, QueueUrl=self.queue_url,
                                        MaxNumberOfMessages=BATCH, WaitTimeSeconds=wait)
        messages = reply.get("Messages") or []
        for msg in messages:
            try:
                await self.handle(msg.get("Body") or "")
            except Exception:  # left in the queue: seen again after the visibility timeout, then the DLQ
                log.exception("bucket event %s failed; SQS will deliver it again", msg.get("MessageId"))
                continue
            await asyncio.to_thread(self.client.delete_message, QueueUrl=self.queue_url,
                                    ReceiptHandle=msg["ReceiptHandle"])
        return len(messages)

    async def handle(self, body: str) -> None:
        found = records(body, self.settings.s3_in_bucket)
        if not found:
            log.info("bucket event without records for %s dropped: %.200s", self.settings.s3_in_bucket, body)
        for kind, raw_key, etag in found:
            if not raw_key.startswith(self._prefix):
                continue
            key = raw_key[len(self._prefix):]
            self.handled += 1
            if kind == "created":
                asset, fired = await ingest_and_apply(self.settings, self.storages, key)
                if asset is not None:
                    log.info("bucket event: %s (etag %s) → asset %s (%s), %d rule(s) fired", key, etag,
                             asset["id"], asset["status"], sum(1 for f in fired if f.new))
            elif await self.storages.input.stat(key) is None:
                gone = await mark_missing(key)
                if gone is not None:
                    log.info("bucket event: %s removed; asset %s marked missing", key, gone)

    async def reconcile(self) -> None:
        """List the bucket: register what is new or changed, mark vanished objects missing."""
        await scan_and_apply(self.settings, self.storages)
        listed = {o.key for o in await self.storages.input.list("")}
        for key, row in (await input_rows()).items():
            if row["status"] != MISSING and key not in listed and await self.storages.input.stat(key) is None:
                await mark_missing(key)

    async def _reconcile_loop(self) -> None:
        every = self.settings.watch_reconcile_seconds
        while not self._stop.is_set():
            try:
                await self.reconcile()
            except Exception:
                log.exception("reconciling bucket %s failed", self.settings.s3_in_bucket)
            if every <= 0:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=every)
