"""Helpers for the API tests: the token, a GraphQL caller, a uvicorn server in a thread."""
from __future__ import annotations

import socket
import threading
import time

import uvicorn

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class GQL:
    def __init__(self, client):
        self.client = client

    async def raw(self, query: str, variables: dict | None = None, headers: dict | None = AUTH):
        return await self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                      headers=headers or {})

    async def __call__(self, query: str, variables: dict | None = None) -> dict:
        """data of a successful operation (asserts there are no errors)."""
        resp = await self.raw(query, variables)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def error(self, query: str, variables: dict | None = None) -> dict:
        """The first error of an operation that must fail; asserts no stack trace leaks."""
        resp = await self.raw(query, variables)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body.get("errors"), body
        assert "Traceback" not in resp.text
        return body["errors"][0]


# ------------------------------------------------------------------ a real server in a thread
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    ws="websockets-sansio", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)




async def seed_jobs(count: int, source_id: int, preset_id: int | None, *, statuses=("queued",), output_asset=None,
                    name: str = "seeded") -> list[int]:
    """Insert `count` jobs directly (no FFmpeg), statuses cycling; return their ids, oldest first."""
    from backend.catalog.tables import JobTransition, TranscodeJob

    rows = [
        TranscodeJob(source=source_id, preset=preset_id, status=statuses[i % len(statuses)],
                     output_filename=f"{name}-{i}.mp4", output_key=f"{name}-{i}.mp4", trim_start=0.0, trim_end=1.0,
                     output_asset=output_asset, progress=float(i % 100))
        for i in range(count)
    ]
    ids: list[int] = []
    for start in range(0, count, 500):
        result = await TranscodeJob.insert(*rows[start:start + 500]).returning(TranscodeJob.id)
        ids.extend(r["id"] for r in result)
    transitions = [JobTransition(job=i, from_status="", to_status="queued", reason="seeded") for i in ids]
    for start in range(0, len(transitions), 500):
        await JobTransition.insert(*transitions[start:start + 500])
    return sorted(ids)
