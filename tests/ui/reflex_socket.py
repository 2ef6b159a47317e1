"""A bare client for Reflex's event socket (`/_event`, Socket.IO over Engine.IO 4, websocket only).

It does what a script — not the compiled page — can do: open the socket with any token, send any
event by name, and read the state updates the server sends back. The UI's security tests use it
to send real handler events without a session.

Wire format: Engine.IO packets are text frames starting with a digit (0 open, 2 ping, 3 pong,
4 message); a Socket.IO packet inside a message is `0` connect / `2` event, followed by the
namespace (`/_event,`) and a JSON body. Reflex answers each event with one or more `event`
emits whose body holds `delta` and `final`.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

NAMESPACE = "/_event"


def event_name(state_cls, handler: str) -> str:
    """The wire name of a handler: the state's full dotted name, then the handler."""
    return f"{state_cls.get_full_name()}.{handler}"


class ReflexSocket:
    def __init__(self, ws: ClientConnection, token: str, marker_event: str):
        self.ws = ws
        self.token = token
        self.marker_event = marker_event  # a handler that only sets a var to its `value` argument
        self.updates: list[dict] = []  # every state update received, in order (markers left out)
        self._markers = 0

    @classmethod
    async def open(cls, base_url: str, marker_event: str, token: str | None = None,
                   cookie: str | None = None) -> "ReflexSocket":
        """`cookie`: a Cookie header for the handshake (a signed-in browser sends its session)."""
        token = token or str(uuid.uuid4())
        url = base_url.replace("http", "ws", 1) + f"{NAMESPACE}/?EIO=4&transport=websocket&token={token}"
        ws = await connect(url, origin=base_url, additional_headers={"Cookie": cookie} if cookie else None)
        opened = await asyncio.wait_for(ws.recv(), 10)
        assert opened.startswith("0"), opened
        await ws.send(f"40{NAMESPACE},")
        sock = cls(ws, token, marker_event)
        while True:
            packet = await sock._next_packet(10)
            if packet.startswith(f"40{NAMESPACE}"):
                return sock
            assert not packet.startswith(f"44{NAMESPACE}"), f"connect refused: {packet}"

    async def _next_packet(self, timeout: float) -> str:
        while True:
            packet = await asyncio.wait_for(self.ws.recv(), timeout)
            if packet == "2":  # Engine.IO ping: answer, or the server drops us
                await self.ws.send("3")
                continue
            return packet

    async def emit(self, name: str, payload: dict[str, Any] | None = None) -> None:
        body = {"name": name, "payload": payload or {}, "router_data": {"pathname": "/", "query": {}}}
        await self.ws.send(f"42{NAMESPACE}," + json.dumps(["event", body]))

    async def call(self, name: str, payload: dict[str, Any] | None = None, timeout: float = 30) -> list[dict]:
        """Send one event, then a marker event, and return every update received until the
        marker's own update arrives. The server runs one tab's events one after the other, so
        when the marker has run, the event before it has finished — even one that sent nothing."""
        self._markers += 1
        marker = f"marker-{self._markers}"
        await self.emit(name, payload)
        await self.emit(self.marker_event, {"value": marker})
        got: list[dict] = []
        while True:
            packet = await self._next_packet(timeout)
            if not packet.startswith(f"42{NAMESPACE},"):
                continue
            kind, *args = json.loads(packet[len(f"42{NAMESPACE},"):])
            if kind != "event":
                continue
            update = args[0]
            if marker in json.dumps(update.get("delta") or {}):
                return got
            got.append(update)
            self.updates.append(update)

    async def close(self) -> None:
        await self.ws.close()


def delta_values(updates: list[dict]) -> dict[str, Any]:
    """All `state.var: value` pairs the updates carried, later ones winning."""
    values: dict[str, Any] = {}
    for update in updates:
        for state, fields in (update.get("delta") or {}).items():
            for var, value in fields.items():
                values[f"{state}.{var}"] = value
    return values
