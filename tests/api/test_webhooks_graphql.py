"""Webhooks over GraphQL (createWebhook, webhooks, webhookDeliveries, redeliverWebhook, deleteWebhook)
and the dispatcher's outcomes against an httpx transport, on SQLite and PostgreSQL. Real sockets,
a real app process and real receivers: tests/faults/test_webhooks.py."""
from __future__ import annotations

import asyncio
import datetime as dt
import json

import httpx
import pytest

from backend.api.webhooks.dispatcher import WebhookDispatcher
from backend.api.webhooks.signature import sign, verify
from backend.catalog import webhooks
from backend.catalog.tables import AuditEvent, WebhookDelivery, WebhookEndpoint

CREATE = """mutation($input: CreateWebhookInput!) { createWebhook(input: $input) {
  secret webhook { id url eventTypes description active createdAt } } }"""
PAGE = """query($id: ID!, $after: String, $status: DeliveryStatus) {
  webhookDeliveries(webhookId: $id, first: 2, after: $after, status: $status) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id eventId eventType status attempts body } } }"""


async def test_create_list_page_redeliver_delete(gql):
    made = (await gql(CREATE, {"input": {"url": "https://example.org/in", "eventTypes": ["asset.ready"],
                                         "description": "cms"}}))["createWebhook"]
    hook = made["webhook"]
    assert made["secret"].startswith("whsec_") and hook["eventTypes"] == ["asset.ready"] and hook["active"]
    listed = (await gql("{ webhooks { id url eventTypes description } }"))["webhooks"]
    assert listed == [{k: hook[k] for k in ("id", "url", "eventTypes", "description")}]

    for n in range(3):
        assert await webhooks.emit("asset.ready", f"asset:{n}", {"asset": {"id": n}}) == 1
    first = (await gql(PAGE, {"id": hook["id"]}))["webhookDeliveries"]
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] and len(first["nodes"]) == 2
    second = (await gql(PAGE, {"id": hook["id"], "after": first["pageInfo"]["endCursor"]}))["webhookDeliveries"]
    assert not second["pageInfo"]["hasNextPage"] and len(second["nodes"]) == 1
    nodes = first["nodes"] + second["nodes"]
    assert [json.loads(n["body"])["data"]["asset"]["id"] for n in nodes] == [2, 1, 0]  # newest first
    assert {n["status"] for n in nodes} == {"PENDING"}
    assert (await gql(PAGE, {"id": hook["id"], "status": "DELIVERED"}))["webhookDeliveries"]["totalCount"] == 0

    again = (await gql("mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id eventId redeliveryOf } }",
                       {"id": nodes[-1]["id"]}))["redeliverWebhook"]
    assert again["eventId"] == nodes[-1]["eventId"] and again["redeliveryOf"] == nodes[-1]["id"]
    err = await gql.error('mutation { redeliverWebhook(deliveryId: "999999") { id } }')
    assert err["extensions"]["code"] == "NOT_FOUND"

    gone = (await gql("mutation($id: ID!) { deleteWebhook(id: $id) { deleted } }", {"id": hook["id"]}))
    assert gone["deleteWebhook"]["deleted"]
    assert (await gql("{ webhooks { id } }"))["webhooks"] == []
    assert await WebhookDelivery.count() == 0  # the log went with it
    err = await gql.error("mutation($id: ID!) { deleteWebhook(id: $id) { deleted } }", {"id": hook["id"]})
    assert err["extensions"]["code"] == "NOT_FOUND"
    actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action).where(AuditEvent.ok == True)]  # noqa: E712
    assert {"createWebhook", "redeliverWebhook", "deleteWebhook"} <= set(actions)


@pytest.mark.parametrize("url,types,field", [
    ("ftp://example.org/x", [], "url"), ("http://u:p@example.org/", [], "url"),
    ("https://example.org/", ["job.exploded"], "eventTypes"),
])
async def test_refusals_name_the_field(gql, url, types, field):
    err = await gql.error(CREATE, {"input": {"url": url, "eventTypes": types}})
    assert err["extensions"]["code"] == "INVALID_INPUT" and err["extensions"].get("field") == field, err
    assert (await gql("{ webhooks { id } }"))["webhooks"] == []


async def test_the_dispatcher_signs_retries_and_gives_up(db, settings):
    """Outcomes against an in-process transport: 2xx delivered, 5xx/timeouts retried, a redirect is
    a failure, a delivery past the retry window failed; every request signed over its body."""
    _, secret = await webhooks.create_endpoint("http://receiver.test/hook", [])
    seen: list[httpx.Request] = []
    answers = iter([503, 307, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(answers, 200), headers={"Location": "http://elsewhere.test/"})

    dispatcher = WebhookDispatcher(settings.with_(webhook_retry_base=0.05, webhook_timeout=5.0),
                                   transport=httpx.MockTransport(handler))
    await dispatcher.start()
    try:
        await webhooks.emit("job.failed", "job:7", {"job": {"id": 7}})
        for _ in range(200):
            row = await WebhookDelivery.select().first()
            if row["status"] != "pending":
                break
            await asyncio.sleep(0.05)
    finally:
        await dispatcher.stop()
    assert row["status"] == "delivered" and row["attempts"] == 3 and row["response_code"] == 200
    assert len(seen) == 3 and {r.headers["MPR-Event-Id"] for r in seen} == {row["event_id"]}
    assert [r.headers["MPR-Delivery-Attempt"] for r in seen] == ["1", "2", "3"]
    assert {r.url.host for r in seen} == {"receiver.test"}  # the 307 was not followed
    for request in seen:
        assert request.content.decode() == row["body"]
        assert verify(secret, row["body"], request.headers["MPR-Signature"])
    assert not dispatcher.alive


async def wait_settled(subject: str) -> dict:
    for _ in range(300):
        row = await WebhookDelivery.select().where(WebhookDelivery.subject == subject).first()
        if row["status"] != "pending":
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"the delivery of {subject} is still pending: {row}")


async def test_a_delivery_past_its_window_is_failed_and_an_inactive_endpoint_gets_nothing(db, settings):
    made, _ = await webhooks.create_endpoint("http://receiver.test/hook", [])
    calls = []
    transport = httpx.MockTransport(lambda request: calls.append(request) or httpx.Response(500))
    await webhooks.emit("asset.ready", "asset:1", {"asset": {"id": 1}})
    await webhooks.emit("asset.ready", "asset:2", {"asset": {"id": 2}})
    await WebhookDelivery.update({WebhookDelivery.next_attempt_at: webhooks.now() + dt.timedelta(hours=1)}).where(
        WebhookDelivery.subject == "asset:2")  # not due yet
    dispatcher = WebhookDispatcher(settings.with_(webhook_retry_base=10.0, webhook_retry_window=1.0),
                                   transport=transport)
    await dispatcher.start()
    try:
        first = await wait_settled("asset:1")
        assert first["status"] == "failed" and first["attempts"] == 1 and first["error"] == "HTTP 500"
        assert first["response_code"] == 500 and len(calls) == 1
        # the endpoint is switched off while an event waits: it is failed without a request
        await WebhookEndpoint.update({WebhookEndpoint.active: False}).where(WebhookEndpoint.id == made["id"])
        await WebhookDelivery.update({WebhookDelivery.next_attempt_at: webhooks.now()}).where(
            WebhookDelivery.subject == "asset:2")
        second = await wait_settled("asset:2")
    finally:
        await dispatcher.stop()
    assert second["status"] == "failed" and second["error"] == "the endpoint is inactive" and len(calls) == 1


def test_signature_format():
    header = sign("whsec_x", '{"a":1}', timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify("whsec_x", '{"a":1}', header, now=1_700_000_100)
    assert not verify("whsec_x", '{"a":1}', header, now=1_700_000_000 + 301)
    assert not verify("whsec_x", '{"a":2}', header, now=1_700_000_000)
    assert not verify("whsec_x", '{"a":1}', "garbage", now=1_700_000_000)


async def test_stopping_gives_deliveries_in_flight_back(db, settings):
    await webhooks.create_endpoint("http://receiver.test/hook", [])
    started = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(3600)
        return httpx.Response(200)

    dispatcher = WebhookDispatcher(settings.with_(webhook_timeout=600.0), transport=httpx.MockTransport(hang))
    await dispatcher.start()
    await webhooks.emit("asset.ready", "asset:1", {"asset": {"id": 1}})
    await asyncio.wait_for(started.wait(), 30)
    row = await WebhookDelivery.select().first()
    assert row["next_attempt_at"] > webhooks.now() + dt.timedelta(seconds=600)  # leased while it is sent
    await dispatcher.stop()
    row = await WebhookDelivery.select().first()
    assert row["status"] == "pending" and row["attempts"] == 0  # not an attempt: the sender went away
    assert row["next_attempt_at"] <= webhooks.now()  # due again at once, for the next start
