"""Webhook deliveries from a real `mpr api` process to real receivers on loopback.

- a receiver that fails the first 3 deliveries, then accepts: every event is accepted exactly once,
  each request's signature checks out with the receiver code of docs/webhooks.md, retries carry
  the same event id; `redeliverWebhook` sends an event again;
- the app stopped while a delivery waits for its retry, then started again, still delivers it
  (same event id, accepted once);
- a receiver that never answers holds the dispatcher's slots, and GraphQL requests are answered
  all the while.
"""
from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.catalog.tables import WebhookDelivery
from backend.config import REPO_ROOT

from mpr_app import bind, finish_app, start_app

pytestmark = pytest.mark.slow

CREATE = """mutation($url: String!, $types: [String!]!) {
  createWebhook(input: {url: $url, eventTypes: $types}) { secret webhook { id url eventTypes } } }"""
DELIVERIES = """query($id: ID!) { webhookDeliveries(webhookId: $id, first: 100) { totalCount nodes {
  id eventId eventType status attempts responseCode latencyMs error redeliveryOf } } }"""


def documented_verify():
    """The `verify` function of docs/webhooks.md's receiver example, run as written there."""
    text = (REPO_ROOT / "docs" / "webhooks.md").read_text()
    block = text.split("<!-- receiver-example")[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(block, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify"]


class Receiver:
    """An HTTP receiver on loopback, in threads of the test process; `answer(n)` gives the status of
    the n-th request (0-based), None keeps the request waiting until `release()`."""

    def __init__(self, answer):
        self.answer = answer
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    n = len(receiver.requests)
                    record = {"headers": dict(self.headers), "body": body, "status": None}
                    receiver.requests.append(record)
                status = receiver.answer(n)
                if status is None:
                    receiver.released.wait(120)
                    return
                record["status"] = status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accepted(self) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["status"] is not None and 200 <= r["status"] < 300]

    def release(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


def event_id(request: dict) -> str:
    return json.loads(request["body"])["id"]


async def wait_for(what: str, check, timeout: float = 90.0, app=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout} s" + (f":\n{app.log()}" if app else ""))


async def deliveries(app, webhook_id: str) -> list[dict]:
    return (await app.gql(DELIVERIES, {"id": webhook_id}))["webhookDeliveries"]["nodes"]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_flaky_receiver_gets_each_event_once_signed_with_one_id(kind, tmp_path, fault_clips):
    receiver = Receiver(lambda n: 500 if n < 3 else 200)
    app = await start_app(tmp_path, kind, {"tiny.mp4": fault_clips["tiny"]}, MPR_WEBHOOK_RETRY_BASE="0.2")
    try:
        created = (await app.gql(CREATE, {"url": receiver.url, "types": []}))["createWebhook"]
        secret, hook = created["secret"], created["webhook"]
        assert secret.startswith("whsec_")
        listed = await app.gql("{ webhooks { id url eventTypes } }")
        assert listed["webhooks"] == [hook] and secret not in json.dumps(listed)

        source = (await app.scan())["tiny.mp4"]
        preset = (await app.preset_ids())["Trim only (stream copy)"]
        job = await app.create_job(source["id"], preset, trimStart=0.0, trimEnd=1.0, outputName="hooked")
        assert (await app.wait_job(job["id"]))["status"] == "SUCCEEDED"

        async def all_delivered():
            rows = await deliveries(app, hook["id"])
            types = {r["eventType"] for r in rows}
            done = {"asset.ready", "job.queued", "job.succeeded"} <= types and all(
                r["status"] == "DELIVERED" for r in rows)
            return rows if done else None

        rows = await wait_for("every delivery delivered", all_delivered, app=app)
        verify = documented_verify()
        # every request (failed ones too) is signed with the endpoint's secret, over the exact body
        for request in receiver.requests:
            headers = {k.lower(): v for k, v in request["headers"].items()}
            assert verify(secret, request["body"], headers["mpr-signature"]), request
            assert headers["mpr-event-id"] == event_id(request)
            assert not verify("whsec_wrong", request["body"], headers["mpr-signature"])
            assert not verify(secret, request["body"] + b" ", headers["mpr-signature"])
        # the documented tolerance refuses an old signature
        first = {k.lower(): v for k, v in receiver.requests[0]["headers"].items()}
        t = int(first["mpr-signature"].split(",")[0][2:])
        old = t - 3600
        stale = f"t={old},v1=" + hmac.new(secret.encode(), f"{old}.".encode() + receiver.requests[0]["body"],
                                           hashlib.sha256).hexdigest()
        assert not verify(secret, receiver.requests[0]["body"], stale)

        accepted = collections.Counter(event_id(r) for r in receiver.accepted())
        assert set(accepted.values()) == {1}, accepted  # each event accepted exactly once
        assert set(accepted) == {r["eventId"] for r in rows}
        failed_ids = [event_id(r) for r in receiver.requests[:3]]
        assert [r["status"] for r in receiver.requests[:3]] == [500, 500, 500]
        assert set(failed_ids) <= set(accepted)  # retried under the same event id, then accepted
        assert sum(r["attempts"] for r in rows) == len(receiver.requests) == len(accepted) + 3
        assert all(r["responseCode"] == 200 and r["latencyMs"] is not None for r in rows)
        retried = [r for r in rows if r["attempts"] > 1]
        assert retried and all(r["eventId"] in failed_ids for r in retried)

        # redeliver one event: a new delivery of the same event id and body
        original = next(r for r in rows if r["eventType"] == "job.succeeded")
        body = next(r["body"] for r in receiver.accepted() if event_id(r) == original["eventId"])
        again = (await app.gql("mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id eventId redeliveryOf } }",
                               {"id": original["id"]}))["redeliverWebhook"]
        assert again["eventId"] == original["eventId"] and again["redeliveryOf"] == original["id"]

        async def redelivered():
            rows = await deliveries(app, hook["id"])
            return next((r for r in rows if r["id"] == again["id"] and r["status"] == "DELIVERED"), None)

        await wait_for("the redelivery delivered", redelivered, app=app)
        replays = [r for r in receiver.accepted() if event_id(r) == original["eventId"]]
        assert len(replays) == 2 and replays[1]["body"] == body
        assert verify(secret, replays[1]["body"], {k.lower(): v for k, v in replays[1]["headers"].items()}["mpr-signature"])

        audit = await app.gql('{ auditLog(first: 20) { action objectType ok } }')
        assert {"action": "createWebhook", "objectType": "webhook", "ok": True} in audit["auditLog"]
        assert {"action": "redeliverWebhook", "objectType": "webhook_delivery", "ok": True} in audit["auditLog"]
    finally:
        receiver.release()
        await finish_app(app)


async def test_the_app_restarted_mid_backoff_still_delivers(tmp_path, fault_clips):
    accept = threading.Event()
    receiver = Receiver(lambda n: 200 if accept.is_set() else 503)
    app = await start_app(tmp_path, "postgres", {"tiny.mp4": fault_clips["tiny"]}, MPR_WEBHOOK_RETRY_BASE="4")
    try:
        hook = (await app.gql(CREATE, {"url": receiver.url, "types": ["asset.ready"]}))["createWebhook"]["webhook"]
        await app.scan()

        async def first_refused():
            return receiver.requests and receiver.requests[0]["status"] == 503

        await wait_for("the first attempt", first_refused, app=app)
        refused_id = event_id(receiver.requests[0])
        app.stop()
        bind(app.database_url)
        row = (await WebhookDelivery.select().where(WebhookDelivery.event_id == refused_id))[0]
        assert row["status"] == "pending" and row["attempts"] >= 1 and row["response_code"] == 503
        assert row["next_attempt_at"] > row["last_attempt_at"]  # waiting for its retry when the app went

        accept.set()
        app.start()

        async def delivered():
            rows = await deliveries(app, hook["id"])
            return rows if rows and all(r["status"] == "DELIVERED" for r in rows) else None

        rows = await wait_for("the delivery after the restart", delivered, app=app)
        assert [r["eventId"] for r in rows] == [refused_id]
        assert [event_id(r) for r in receiver.accepted()] == [refused_id]
        assert all(event_id(r) == refused_id for r in receiver.requests)
    finally:
        receiver.release()
        await finish_app(app)


async def test_a_receiver_that_never_answers_does_not_hold_up_graphql(tmp_path, fault_clips):
    receiver = Receiver(lambda n: None)  # reads the request, never answers
    app = await start_app(tmp_path, "sqlite", {"tiny.mp4": fault_clips["tiny"], "small.mp4": fault_clips["small"]},
                          MPR_WEBHOOK_TIMEOUT="120", MPR_WEBHOOK_CONCURRENCY="2")
    try:
        hook = (await app.gql(CREATE, {"url": receiver.url, "types": []}))["createWebhook"]["webhook"]
        await app.scan()  # two asset.ready events

        async def both_slots_hanging():
            return len(receiver.requests) >= 2

        await wait_for("two deliveries in flight", both_slots_hanging, app=app)
        # every slot of the dispatcher waits on the receiver now; the app answers anyway
        for i in range(20):
            resp = await app.gql_raw("{ assets { nodes { id status } } webhooks { id } systemStatus { database } }",
                                     timeout=15.0)
            assert resp.status_code == 200 and not resp.json().get("errors"), resp.text[:500]
        extra = (await app.gql(CREATE, {"url": receiver.url + "/2", "types": ["job.failed"]}))["createWebhook"]
        assert extra["webhook"]["id"] != hook["id"]
        rows = await deliveries(app, hook["id"])
        assert len(rows) == 2 and all(r["status"] == "PENDING" and r["attempts"] == 0 for r in rows)
        assert len(receiver.requests) == 2 and all(r["status"] is None for r in receiver.requests)  # still hanging
    finally:
        receiver.release()
        await finish_app(app)
