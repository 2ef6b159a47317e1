"""The webhook outbox, as the dispatcher sees it: claim due deliveries, record each attempt's
outcome, schedule the next (exponential backoff with jitter within a retry window), replay one.

Everything is in the `mpr_webhook_delivery` rows, so a restarted process carries on where the
last one stopped. A claim moves the row's `next_attempt_at` past the attempt's time limit (a
lease): two dispatchers never send the same row at once, and a row whose sender died becomes due
again when the lease ends. Sending itself is `backend.api.webhooks`'s job.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from backend.catalog.tables import WebhookDelivery, WebhookEndpoint
from backend.catalog.webhooks import now

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
DELIVERY_STATUSES = (PENDING, DELIVERED, FAILED)
MAX_DELAY = 3600.0  # no wait between two attempts is longer than an hour


@dataclass(frozen=True)
class Due:
    """One claimed delivery with what sending it needs."""
    id: int
    event_id: str
    event_type: str
    body: str
    attempt: int  # the number of this attempt (1 for the first)
    url: str
    secret: str
    active: bool


@dataclass(frozen=True)
class RetryPolicy:
    base: float = 10.0  # seconds before the second attempt; doubled for each one after
    window: float = 24 * 3600.0  # after this long since the event, a failing delivery is marked failed

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones: base·2^(n-1), capped, with jitter
        (a random 50–100 % of it, so receivers coming back up are not hit by every sender at once)."""
        raw = min(MAX_DELAY, self.base * (2 ** max(0, attempts - 1)))
        return raw * random.uniform(0.5, 1.0)


async def claim_due(limit: int, lease_seconds: float) -> list[Due]:
    """Up to `limit` deliveries due now, each leased to this caller for `lease_seconds`."""
    if limit <= 0:
        return []
    t = now()
    rows = await WebhookDelivery.select(WebhookDelivery.id).where(
        (WebhookDelivery.status == PENDING) & (WebhookDelivery.next_attempt_at <= t)
    ).order_by(WebhookDelivery.next_attempt_at).limit(limit)
    claimed = []
    for row in rows:
        won = await WebhookDelivery.update({WebhookDelivery.next_attempt_at: t + dt.timedelta(seconds=lease_seconds)}).where(
            (WebhookDelivery.id == row["id"]) & (WebhookDelivery.status == PENDING)
            & (WebhookDelivery.next_attempt_at <= t)
        ).returning(WebhookDelivery.id)
        if won:
            claimed.append(row["id"])
    if not claimed:
        return []
    full = await WebhookDelivery.select(
        WebhookDelivery.id, WebhookDelivery.event_id, WebhookDelivery.event_type, WebhookDelivery.body,
        WebhookDelivery.attempts, WebhookDelivery.endpoint.url, WebhookDelivery.endpoint.secret,
        WebhookDelivery.endpoint.active,
    ).where(WebhookDelivery.id.is_in(claimed)).order_by(WebhookDelivery.id)
    return [Due(id=r["id"], event_id=r["event_id"], event_type=r["event_type"], body=r["body"],
                attempt=r["attempts"] + 1, url=r["endpoint.url"] or "", secret=r["endpoint.secret"] or "",
                active=bool(r["endpoint.active"])) for r in full]


async def record_attempt(delivery_id: int, *, ok: bool, code: int | None, latency_ms: int | None, error: str,
                         policy: RetryPolicy, final: bool = False) -> str:
    """Store one attempt's outcome; returns the delivery's new status. A failure is retried after
    `policy.delay` unless that would be past the retry window (or `final`): then it is failed."""
    row = await WebhookDelivery.select(WebhookDelivery.attempts, WebhookDelivery.created_at).where(
        WebhookDelivery.id == delivery_id).first()
    if row is None:
        return FAILED  # deleted with its endpoint meanwhile
    attempts = row["attempts"] + 1
    t = now()
    values = {WebhookDelivery.attempts: attempts, WebhookDelivery.last_attempt_at: t,
              WebhookDelivery.response_code: code, WebhookDelivery.latency_ms: latency_ms,
              WebhookDelivery.error: (error or "")[:2000]}
    if ok:
        status = DELIVERED
    else:
        retry_at = t + dt.timedelta(seconds=policy.delay(attempts))
        created = row["created_at"]
        if created.tzinfo is None:
            created = created.replace(tzinfo=dt.timezone.utc)
        status = FAILED if final or retry_at > created + dt.timedelta(seconds=policy.window) else PENDING
        if status == PENDING:
            values[WebhookDelivery.next_attempt_at] = retry_at
    values[WebhookDelivery.status] = status
    await WebhookDelivery.update(values).where(WebhookDelivery.id == delivery_id)
    return status


async def release(delivery_ids: list[int]) -> None:
    """Give claimed deliveries back (their sender is stopping): due again now, attempt not counted."""
    await WebhookDelivery.update({WebhookDelivery.next_attempt_at: now()}).where(
        WebhookDelivery.id.is_in(delivery_ids) & (WebhookDelivery.status == PENDING))


async def redeliver(delivery_id: int) -> dict | None:
    """Queue the same event (same id and body) for the same endpoint again, as a new delivery due
    now; the original row keeps its log. None if there is no such delivery."""
    row = await WebhookDelivery.select().where(WebhookDelivery.id == delivery_id).first()
    if row is None:
        return None
    t = now()
    copy = WebhookDelivery(endpoint=row["endpoint"], event_id=row["event_id"], event_type=row["event_type"],
                           subject=row["subject"], body=row["body"], status=PENDING, attempts=0, next_attempt_at=t,
                           created_at=t, redelivery_of=delivery_id)
    await copy.save()
    return await delivery(copy.id)


async def delivery(delivery_id: int) -> dict | None:
    return await WebhookDelivery.select().where(WebhookDelivery.id == delivery_id).first()


async def endpoint_exists(endpoint_id: int) -> bool:
    return await WebhookEndpoint.exists().where(WebhookEndpoint.id == endpoint_id)
