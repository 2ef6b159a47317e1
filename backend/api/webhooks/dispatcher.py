"""`WebhookDispatcher`: the app process's background task that sends the webhook outbox.

It claims due deliveries (`backend.catalog.webhook_outbox.claim_due`, a lease per row), POSTs each
one's stored body with the `MPR-Signature` header, at most `MPR_WEBHOOK_CONCURRENCY` at once and
each within `MPR_WEBHOOK_TIMEOUT` seconds all told (connect, send, the answer's status line; the
answer's body is never read), and records the outcome: 2xx is delivered, anything else is retried
with exponential backoff and jitter until `MPR_WEBHOOK_RETRY_WINDOW` has passed, then failed.

It runs on the app's event loop but only waits on sockets with deadlines, so a receiver that
hangs holds one of its slots for the timeout and nothing else. It wakes when this process queues
an event (`backend.catalog.webhooks.add_waker`) and polls the table every `POLL_SECONDS` for
events queued by other processes (a worker) and for retries that fell due. Its state is the
table: a restarted process carries on, with the same event ids.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx

from backend.api.webhooks.signature import HEADER, sign
from backend.catalog import webhook_outbox as outbox
from backend.catalog import webhooks
from backend.config import Settings

log = logging.getLogger("mpr.webhooks")

POLL_SECONDS = 1.0
LEASE_MARGIN = 30.0  # a claimed row is due again this long after its attempt's time limit
USER_AGENT = "MPR-Webhooks/1"


class WebhookDispatcher:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.timeout = max(0.1, settings.webhook_timeout)
        self.concurrency = max(1, settings.webhook_concurrency)
        self.policy = outbox.RetryPolicy(base=max(0.0, settings.webhook_retry_base),
                                         window=max(0.0, settings.webhook_retry_window))
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task | None = None
        self._sending: set[asyncio.Task] = set()
        self._in_flight: set[int] = set()  # delivery ids being sent now

    @property
    def alive(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout), follow_redirects=False, transport=self._transport,
            trust_env=False,  # no ~/.netrc credentials or environment proxies for addresses admins chose
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
            headers={"User-Agent": USER_AGENT},
        )
        webhooks.add_waker(self._wake.set)
        self._loop_task = asyncio.create_task(self._run(), name="mpr-webhook-dispatcher")

    async def stop(self) -> None:
        """Stop claiming and abandon the attempts in flight: their rows are made due again at once
        (or, if that fails, when their lease ends), so the next start sends them; a receiver may
        then see one twice, with the same event id."""
        webhooks.remove_waker(self._wake.set)
        abandoned = sorted(self._in_flight)
        tasks = [t for t in (self._loop_task, *self._sending) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loop_task = None
        if abandoned:
            try:
                await outbox.release(abandoned)
            except Exception:  # noqa: BLE001 - the leases end by themselves
                log.warning("webhook dispatcher: could not release %d deliveries; they are sent when their lease ends",
                            len(abandoned))
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self) -> None:
        while True:
            try:
                free = self.concurrency - len(self._sending)
                claimed = await outbox.claim_due(free, self.timeout + LEASE_MARGIN) if free > 0 else []
                for due in claimed:
                    task = asyncio.create_task(self._deliver(due), name=f"mpr-webhook-{due.id}")
                    self._sending.add(task)
                    task.add_done_callback(self._sent)
                if claimed and len(claimed) == free:
                    continue  # more may be due: claim again when a slot frees (the waker)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database away for a moment: try again later
                log.exception("webhook dispatcher: claiming failed")
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    def _sent(self, task: asyncio.Task) -> None:
        self._sending.discard(task)
        self._wake.set()  # a slot is free

    async def _deliver(self, due: outbox.Due) -> None:
        self._in_flight.add(due.id)
        try:
            await self._attempt(due)
        finally:
            self._in_flight.discard(due.id)

    async def _attempt(self, due: outbox.Due) -> None:
        if not due.active or not due.secret or not due.url:
            why = "the endpoint is inactive" if not due.active else "the endpoint has no URL or secret"
            await outbox.record_attempt(due.id, ok=False, code=None, latency_ms=None, error=why, policy=self.policy,
                                        final=True)
            return
        code, error = None, ""
        started = time.monotonic()
        try:
            code = await asyncio.wait_for(self._post(due), self.timeout)
            if not 200 <= code < 300:
                error = f"HTTP {code}"
        except asyncio.TimeoutError:
            error = f"no answer within {self.timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
        latency = int((time.monotonic() - started) * 1000)
        try:
            status = await outbox.record_attempt(due.id, ok=not error, code=code, latency_ms=latency, error=error,
                                                 policy=self.policy)
        except Exception:  # noqa: BLE001 - the row stays leased and is sent again when the lease ends
            log.exception("webhook delivery %s: could not record the attempt", due.id)
            return
        if error:
            log.info("webhook delivery %s (%s) attempt %s: %s → %s", due.id, due.event_type, due.attempt, error,
                     status)

    async def _post(self, due: outbox.Due) -> int:
        assert self._client is not None
        headers = {
            "Content-Type": "application/json",
            HEADER: sign(due.secret, due.body),
            "MPR-Event-Id": due.event_id,
            "MPR-Event-Type": due.event_type,
            "MPR-Delivery-Id": str(due.id),
            "MPR-Delivery-Attempt": str(due.attempt),
        }
        async with self._client.stream("POST", due.url, content=due.body.encode(), headers=headers) as response:
            return response.status_code
