"""A tiny TCP forwarder (127.0.0.1:port → target) that a test can close and reopen.

Closing it refuses new connections and cuts every open one, which is what an app sees when its
PostgreSQL goes away — without touching the machine's PostgreSQL cluster that others use.
`hang()` is the nastier outage: open connections are cut, new ones are accepted and then get no
answer at all (a network partition), so only the client's own timeouts end the wait.
It runs its own event loop in a thread, so the test's blocking calls do not stall the traffic.
"""
from __future__ import annotations

import asyncio
import contextlib
import socket
import threading


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Forwarder:
    def __init__(self, target_host: str, target_port: int, port: int | None = None):
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="tcp-forwarder", daemon=True)
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.hanging = False
        self.connections = 0  # accepted so far (to see that the app really went through here)

    # ------------------------------------------------------------------ control (from any thread)
    def start(self) -> "Forwarder":
        self.thread.start()
        self.open()
        return self

    def open(self) -> None:
        asyncio.run_coroutine_threadsafe(self._open(), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(10)

    def hang(self) -> None:
        asyncio.run_coroutine_threadsafe(self._hang(), self.loop).result(10)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.close()
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)

    @property
    def is_open(self) -> bool:
        return self.server is not None

    # ------------------------------------------------------------------ the loop's side
    def _cut(self) -> None:
        for writer in list(self.writers):
            writer.transport.abort()  # a reset, like a server that died
        self.writers.clear()

    async def _open(self) -> None:
        if self.hanging:
            self.hanging = False
            self._cut()
        if self.server is None:
            self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)

    async def _close(self) -> None:
        server, self.server = self.server, None
        self.hanging = False
        if server is not None:
            server.close()
        self._cut()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def _hang(self) -> None:
        await self._open()
        self._cut()
        self.hanging = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.server is None:
            writer.transport.abort()
            return
        if self.hanging:  # accept, then say nothing until the test reopens (or closes) us
            self.writers.add(writer)
            return
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()
