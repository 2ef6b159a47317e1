"""Webhook endpoints and the events MPR emits to them: registering an endpoint, and `emit`, which
turns one event into one outbox row (`WebhookDelivery`) per active endpoint that wants it.

Emitting is only an INSERT: nothing here talks to the network, so a job's progress never waits on
a receiver. The dispatcher (`backend.api.webhooks`) sends the rows; `backend.catalog.webhook_outbox`
is its side of the table. Events: `asset.ready`, `asset.error`, `job.queued`, `job.progressing`
(at most one per endpoint per job every `PROGRESS_INTERVAL` seconds), `job.succeeded`,
`job.failed`, `job.cancelled`. See docs/webhooks.md.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
import uuid
from typing import Callable
from urllib.parse import urlsplit

from backend.catalog.statuses import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED
from backend.catalog.tables import WebhookDelivery, WebhookEndpoint

log = logging.getLogger("mpr.webhooks")

EVENT_TYPES = ("asset.ready", "asset.error", "job.queued", "job.progressing", "job.succeeded", "job.failed",
               "job.cancelled")
JOB_EVENT = {QUEUED: "job.queued", RUNNING: "job.progressing", SUCCEEDED: "job.succeeded", FAILED: "job.failed",
             CANCELLED: "job.cancelled"}
PROGRESS_INTERVAL = 5.0  # seconds between two job.progressing events of one job to one endpoint
MAX_URL = 2048

_wakers: set[Callable[[], None]] = set()
_last_progress: dict[int, float] = {}  # job id → monotonic time of this process's last job.progressing


class WebhookError(ValueError):
    """A refused endpoint: `field` names the input, str() says what to change."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# ------------------------------------------------------------------------------ endpoints
def check_url(url: str) -> str:
    """An http(s) URL with a host and no user:password; loopback and private addresses are allowed
    (only admins register endpoints; see docs/webhooks.md)."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise WebhookError("url", f"give an http:// or https:// URL of at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError as exc:
        raise WebhookError("url", f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookError("url", f"only http and https URLs are delivered to, not {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise WebhookError("url", "the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise WebhookError("url", "put no user:password in the URL (it would show in lists); the signature "
                                  "authenticates MPR to the receiver")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise WebhookError("url", "the URL contains spaces or control characters")
    return url


def check_event_types(types: list[str] | None) -> list[str]:
    wanted = sorted(set(types or []))
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if unknown:
        raise WebhookError("eventTypes", f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
    return wanted


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


async def create_endpoint(url: str, event_types: list[str] | None, *, description: str = "",
                          created_by: int | None = None) -> tuple[dict, str]:
    """Store a new endpoint; returns (its row without the secret, the secret — shown once)."""
    secret = new_secret()
    row = WebhookEndpoint(url=check_url(url), secret=secret, event_types=check_event_types(event_types),
                          description=(description or "").replace("\x00", "")[:256], active=True,
                          created_by=created_by)  # PostgreSQL text holds no NUL
    await row.save()
    return await endpoint(row.id), secret


async def endpoint(endpoint_id: int) -> dict | None:
    return await WebhookEndpoint.select(exclude_secrets=True).where(
        WebhookEndpoint.id == endpoint_id).output(load_json=True).first()


async def endpoints() -> list[dict]:
    return await WebhookEndpoint.select(exclude_secrets=True).order_by(WebhookEndpoint.id).output(load_json=True)


async def delete_endpoint(endpoint_id: int) -> bool:
    """Delete an endpoint and its delivery log (cascade); False if there was none."""
    gone = await WebhookEndpoint.delete().where(WebhookEndpoint.id == endpoint_id).returning(WebhookEndpoint.id)
    return bool(gone)


# ------------------------------------------------------------------------------ emitting
def add_waker(waker: Callable[[], None]) -> None:
    """`waker()` is called after rows were queued in this process (the dispatcher wakes up)."""
    _wakers.add(waker)


def remove_waker(waker: Callable[[], None]) -> None:
    _wakers.discard(waker)


def notify() -> None:
    for waker in list(_wakers):
        try:
            waker()
        except Exception:  # noqa: BLE001 - a dead dispatcher must not fail the emitter
            log.exception("webhook waker failed")


def event_body(event_id: str, event_type: str, data: dict, at: dt.datetime) -> str:
    return json.dumps({"id": event_id, "type": event_type, "created_at": at.isoformat(), "data": data},
                      separators=(",", ":"), sort_keys=True, default=str)


async def _wanting(event_type: str) -> list[int]:
    rows = await WebhookEndpoint.select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
        WebhookEndpoint.active == True  # noqa: E712 - a SQL comparison
    ).output(load_json=True)
    return [r["id"] for r in rows if not r["event_types"] or event_type in r["event_types"]]


async def emit(event_type: str, subject: str, data: dict, *, wake: bool = True,
               only_endpoints: list[int] | None = None) -> int:
    """Queue one event for every active endpoint that wants it; returns how many rows were queued.

    Call it inside the transaction of the change it reports (the event then exists if and only if
    the change does) with `wake=False`, and `notify()` after the commit."""
    targets = only_endpoints if only_endpoints is not None else await _wanting(event_type)
    if not targets:
        return 0
    at = now()
    event_id = "evt_" + uuid.uuid4().hex
    body = event_body(event_id, event_type, data, at)
    await WebhookDelivery.insert(*[
        WebhookDelivery(endpoint=target, event_id=event_id, event_type=event_type, subject=subject[:64], body=body,
                        status="pending", attempts=0, next_attempt_at=at, created_at=at)
        for target in targets
    ])
    if wake:
        notify()
    return len(targets)


def job_data(row: dict, reason: str = "") -> dict:
    return {"job": {
        "id": row["id"], "status": row["status"], "attempt": row.get("attempt") or 1,
        "progress": row.get("progress") or 0.0, "error": row.get("error") or "", "reason": reason,
        "source_id": row.get("source"), "output_asset_id": row.get("output_asset"),
        "output_key": row.get("output_key") or "", "output_filename": row.get("output_filename") or "",
        "executor": row.get("executor") or "",
    }}


async def job_changed(row: dict, reason: str = "", *, wake: bool = False) -> int:
    """The event of a job that just changed status (`row` as written); job.progressing is throttled."""
    event_type = JOB_EVENT.get(row["status"])
    if event_type is None:
        return 0
    if event_type == "job.progressing":
        return await job_progress(row, wake=wake)
    if event_type != "job.queued":  # terminal: this job sends no more progress
        _last_progress.pop(row["id"], None)
    return await emit(event_type, f"job:{row['id']}", job_data(row, reason), wake=wake)


async def job_progress(row: dict, *, wake: bool = True) -> int:
    """job.progressing, at most once per PROGRESS_INTERVAL per job from this process, and per
    endpoint across processes (an endpoint that got one for this job within the interval is skipped)."""
    job_id = row["id"]
    clock = time.monotonic()
    if clock - _last_progress.get(job_id, -PROGRESS_INTERVAL) < PROGRESS_INTERVAL:
        return 0
    _last_progress[job_id] = clock
    if len(_last_progress) > 10_000:  # jobs that ended without a terminal event here: forget the oldest
        for old in sorted(_last_progress, key=_last_progress.get)[:5_000]:
            _last_progress.pop(old, None)
    targets = await _wanting("job.progressing")
    if not targets:
        return 0
    since = now() - dt.timedelta(seconds=PROGRESS_INTERVAL)
    recent = await WebhookDelivery.select(WebhookDelivery.endpoint).where(
        (WebhookDelivery.subject == f"job:{job_id}") & (WebhookDelivery.event_type == "job.progressing")
        & (WebhookDelivery.created_at > since)
    )
    recent_ids = {r["endpoint"] for r in recent}
    targets = [t for t in targets if t not in recent_ids]
    if not targets:
        return 0
    return await emit("job.progressing", f"job:{job_id}", job_data(row), wake=wake, only_endpoints=targets)


def asset_data(row: dict) -> dict:
    keys = ("id", "filename", "storage_area", "storage_key", "status", "error_message", "size", "duration",
            "container", "video_codec", "audio_codec", "width", "height", "frame_rate")
    return {"asset": {k: row.get(k) for k in keys}}


async def asset_settled(row: dict) -> int:
    """asset.ready / asset.error for an asset whose ingest just ended; never raises (the asset stands)."""
    event_type = {"ready": "asset.ready", "error": "asset.error"}.get(row.get("status"))
    if event_type is None:
        return 0
    try:
        return await emit(event_type, f"asset:{row['id']}", asset_data(row))
    except Exception:
        log.exception("could not queue %s for asset %s", event_type, row.get("id"))
        return 0
