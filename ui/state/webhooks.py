"""Webhooks dialog state (admins): the endpoints, the delivery log of the chosen one, replaying a
delivery. Everything through GraphQL (`ui.api`); the API refuses non-admins anyway."""
from __future__ import annotations

import reflex as rx

from ui import api
from ui.models import DeliveryRow, WebhookRow, delivery_row, webhook_row
from ui.state.base import AppState


class WebhooksState(AppState):
    dialog_open: bool = False
    hooks: list[WebhookRow] = []
    selected_id: str = ""
    deliveries: list[DeliveryRow] = []
    webhooks_error: str = ""
    busy_id: str = ""

    async def _load(self) -> None:
        if not self.authenticated:  # like every panel: nothing before sign-in (the API refuses anyway)
            return
        try:
            self.hooks = [webhook_row(h) for h in await api.list_webhooks()]
            if self.selected_id not in {h.id for h in self.hooks}:
                self.selected_id = self.hooks[0].id if self.hooks else ""
            self.deliveries = ([delivery_row(d) for d in await api.webhook_deliveries(self.selected_id)]
                               if self.selected_id else [])
            self.webhooks_error = ""
        except api.ApiError as exc:
            self.webhooks_error = exc.message

    @rx.event
    async def set_dialog_open(self, value: bool):
        self.dialog_open = value
        if value:
            await self._load()

    @rx.event
    async def select(self, hook_id: str):
        self.selected_id = hook_id
        await self._load()

    @rx.event
    async def refresh(self):
        await self._load()

    @rx.event
    async def redeliver(self, delivery_id: str):
        if not self.authenticated:
            return
        self.busy_id = delivery_id
        try:
            await api.redeliver_webhook(delivery_id)
        except api.ApiError as exc:
            self.webhooks_error = exc.message
            self.busy_id = ""
            return
        self.busy_id = ""
        await self._load()
