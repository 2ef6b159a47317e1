"""Webhooks in GraphQL: `webhooks`, `webhookDeliveries` (one endpoint's delivery log, paged);
`createWebhook` (the secret is in its answer, once), `deleteWebhook`, `redeliverWebhook`.

All admin-only (`permissions.PERMISSIONS`): an endpoint's URL may carry a receiver's credentials,
and registering one makes MPR POST to an address of the caller's choosing. The rules about URLs
and event types are `backend.catalog.webhooks`'s; sending is `backend.api.webhooks`'s.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry
from piccolo.columns.combination import Where

from backend.api.graphql.context import api
from backend.api.graphql.ids import parse_id
from backend.api.graphql.pagination import counter, encode_cursor, fetch_page
from backend.api.graphql.types import Connection, DeleteResult, Edge, PageInfo
from backend.catalog import webhook_outbox, webhooks
from backend.catalog.tables import WebhookDelivery as DeliveryTable
from backend.jobs.errors import DomainError, not_found

DeliveryStatus = strawberry.enum(Enum("DeliveryStatus", {s.upper(): s for s in webhook_outbox.DELIVERY_STATUSES}),
                                 description="pending (will be tried, again), delivered (2xx), failed (given up)")


@strawberry.type(description="A URL MPR POSTs signed events to (its secret is shown once, by createWebhook).")
class Webhook:
    id: strawberry.ID
    url: str
    event_types: list[str] = strawberry.field(description="The event types sent; empty: all of them.")
    description: str
    active: bool
    created_at: dt.datetime | None
    created_by_id: strawberry.ID | None

    @classmethod
    def from_row(cls, row: dict) -> "Webhook":
        by = row.get("created_by")
        return cls(id=strawberry.ID(str(row["id"])), url=row["url"], event_types=list(row["event_types"] or []),
                   description=row["description"], active=row["active"], created_at=row["created_at"],
                   created_by_id=strawberry.ID(str(by)) if by is not None else None)


@strawberry.type
class CreatedWebhook:
    secret: str = strawberry.field(description="The signing secret: store it now, it is not shown again.")
    webhook: Webhook


@strawberry.type(description="One event for one endpoint, and how sending it went.")
class WebhookDelivery:
    id: strawberry.ID
    webhook_id: strawberry.ID
    event_id: str = strawberry.field(description="The same across retries and redeliveries of the event.")
    event_type: str
    subject: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None = strawberry.field(description="When a pending delivery is tried next.")
    last_attempt_at: dt.datetime | None
    response_code: int | None
    latency_ms: int | None
    error: str
    redelivery_of: strawberry.ID | None
    created_at: dt.datetime | None
    body: str = strawberry.field(description="The JSON sent, byte for byte (what the signature covers).")

    @classmethod
    def from_row(cls, row: dict) -> "WebhookDelivery":
        again = row.get("redelivery_of")
        return cls(id=strawberry.ID(str(row["id"])), webhook_id=strawberry.ID(str(row["endpoint"])),
                   event_id=row["event_id"], event_type=row["event_type"], subject=row["subject"],
                   status=DeliveryStatus(row["status"]), attempts=row["attempts"],
                   next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
                   last_attempt_at=row["last_attempt_at"], response_code=row["response_code"],
                   latency_ms=row["latency_ms"], error=row["error"],
                   redelivery_of=strawberry.ID(str(again)) if again is not None else None,
                   created_at=row["created_at"], body=row["body"])


@strawberry.input
class CreateWebhookInput:
    url: str
    event_types: list[str] = strawberry.field(default_factory=list,
                                              description="Event types to send (asset.ready, job.succeeded, …); "
                                                          "empty or omitted: all.")
    description: str = ""


def _refusal(exc: webhooks.WebhookError) -> DomainError:
    err = DomainError("INVALID_INPUT", exc.message)
    err.field = exc.field
    return err


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="Every webhook endpoint (admin).")
    async def webhooks(self, info: strawberry.Info) -> list[Webhook]:
        return [Webhook.from_row(r) for r in await webhooks.endpoints()]

    @strawberry.field(description="One endpoint's deliveries, newest first (admin).")
    async def webhook_deliveries(self, info: strawberry.Info, webhook_id: strawberry.ID, first: int | None = 20,
                                 after: str | None = None,
                                 status: DeliveryStatus | None = None) -> Connection[WebhookDelivery]:
        endpoint_id = parse_id(webhook_id, "webhookId")
        where: list[Where] = [DeliveryTable.endpoint == endpoint_id]
        if status is not None:
            where.append(DeliveryTable.status == status.value)
        rows, has_next = await fetch_page(DeliveryTable, "delivery", where, first, after)
        edges = [Edge(cursor=encode_cursor("delivery", r["id"]), node=WebhookDelivery.from_row(r)) for r in rows]
        return Connection(edges=edges, page_info=PageInfo(has_next_page=has_next,
                                                          end_cursor=edges[-1].cursor if edges else None),
                          _count=counter(DeliveryTable, where))


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="Register an endpoint; the answer holds its signing secret, shown once.")
    async def create_webhook(self, info: strawberry.Info, input: CreateWebhookInput) -> CreatedWebhook:
        try:
            row, secret = await webhooks.create_endpoint(input.url, input.event_types, description=input.description,
                                                         created_by=api(info).identity.user_id)
        except webhooks.WebhookError as exc:
            raise _refusal(exc) from None
        return CreatedWebhook(secret=secret, webhook=Webhook.from_row(row))

    @strawberry.mutation(description="Delete an endpoint and its delivery log; nothing more is sent to it.")
    async def delete_webhook(self, id: strawberry.ID) -> DeleteResult:
        endpoint_id = parse_id(id, "webhook id")
        if not await webhooks.delete_endpoint(endpoint_id):
            raise not_found("webhook", endpoint_id)
        return DeleteResult(id=strawberry.ID(str(endpoint_id)), deleted=True, removed_files=[], removed_jobs=0,
                            message=f"deleted webhook {endpoint_id}")

    @strawberry.mutation(description="Send one delivery's event again (same event id and body), as a new delivery.")
    async def redeliver_webhook(self, delivery_id: strawberry.ID) -> WebhookDelivery:
        row = await webhook_outbox.redeliver(parse_id(delivery_id, "deliveryId"))
        if row is None:
            raise not_found("webhook delivery", delivery_id)
        webhooks.notify()
        return WebhookDelivery.from_row(row)
