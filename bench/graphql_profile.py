"""Where a GraphQL request's server CPU goes: the app driven in this process over raw ASGI (no
sockets, no uvicorn), against a database bench/graphql.py kept (`--keep`).

    .venv/bin/python bench/graphql_profile.py --database mpr_bench_… [--requests 200] [--profile listing|small|search]

Prints, per query (bench/graphql.py's LISTING, SEARCH, SMALL and TINY): CPU ms per request of this
process (time.process_time: the app's own Python, not PostgreSQL's) and SQL statements per
request (counted at Piccolo's engine). --personal-token calls as an editor with a personal token
(a user and a token are added to that database) instead of the master token. With --profile, a cProfile of that query's requests,
sorted by cumulative and by own time. Reads only; the database is left as it was.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from bench.graphql import LISTING, PG_ADMIN_URL, SEARCH, SEARCH_TERMS, SMALL, TINY, TOKEN, seeded_counts  # noqa: E402


class Asgi:
    """Drives an ASGI app by hand: its lifespan, and one HTTP POST at a time."""

    def __init__(self, app, token: str = TOKEN):
        self.app, self.token = app, token
        self._events: asyncio.Queue = asyncio.Queue()
        self._sent: asyncio.Queue = asyncio.Queue()
        self._task = None

    async def start(self) -> None:
        async def receive():
            return await self._events.get()

        async def send(message):
            await self._sent.put(message)

        self._task = asyncio.create_task(self.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                                  receive, send))
        await self._events.put({"type": "lifespan.startup"})
        message = await self._sent.get()
        assert message["type"] == "lifespan.startup.complete", message

    async def stop(self) -> None:
        await self._events.put({"type": "lifespan.shutdown"})
        await self._sent.get()
        await self._task

    async def post(self, path: str, payload: bytes) -> tuple[int, bytes]:
        headers = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                   (b"authorization", f"Bearer {self.token}".encode()), (b"content-length", str(len(payload)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8000), "state": {}}
        sent = False
        status, chunks = 0, []

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            await asyncio.sleep(3600)

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


def count_statements() -> dict:
    """Counts every statement Piccolo's engine runs (raw and built queries alike)."""
    from piccolo.engine.postgres import PostgresEngine

    counter = {"n": 0}
    original = PostgresEngine.run_querystring

    async def counted(self, *args, **kwargs):
        counter["n"] += 1
        return await original(self, *args, **kwargs)

    PostgresEngine.run_querystring = counted
    return counter


async def run(args) -> None:
    from backend.api.app import create_app
    from backend.config import Settings

    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + args.database
    seeded = await seeded_counts(url)
    tmp = Path(tempfile.mkdtemp(prefix="mpr-profile-"))
    os.environ.update({"MPR_DATABASE_URL": url, "MPR_API_TOKEN": TOKEN, "MPR_ADMIN_PASSWORD": "bench-admin",
                       "MPR_MEDIA_ROOT": str(tmp / "media"), "MPR_DATA_DIR": str(tmp / "data"),
                       "MPR_LOG_LEVEL": "warning"})
    settings = Settings.from_env().with_(port=8000, host="127.0.0.1", log_level="warning")
    app = create_app(settings, run_jobs=False)
    client = Asgi(app)
    await client.start()
    if args.personal_token:  # an editor's personal token instead of the master token (a user row, a token row)
        from backend.catalog import accounts, api_tokens

        name = f"bench-{os.getpid()}"
        user = await accounts.user_by_name(name) or await accounts.create_user(name, "bench password", "editor")
        client.token, _ = await api_tokens.create_token(user, "bench", "write")
    statements = count_statements()
    after: list = [None]

    def listing(i: int) -> bytes:
        return json.dumps({"query": LISTING, "variables": {"after": after[0]}}).encode()

    def search(i: int) -> bytes:
        return json.dumps({"query": SEARCH, "variables": {"q": SEARCH_TERMS[i % len(SEARCH_TERMS)]}}).encode()

    def small(i: int) -> bytes:
        return json.dumps({"query": SMALL, "variables": {"id": str(seeded["some_job"])}}).encode()

    def tiny(i: int) -> bytes:
        return json.dumps({"query": TINY, "variables": {}}).encode()

    async def one(kind: str, make, i: int) -> None:
        status, raw = await client.post("/graphql", make(i))
        data = json.loads(raw)
        assert status == 200 and "errors" not in data, raw[:300]
        if kind == "listing":  # walk a few pages deep, then start again (as bench/graphql.py does)
            after[0] = data["data"]["jobs"]["pageInfo"]["endCursor"] if i % 10 != 9 else None

    try:
        for kind, make in (("listing", listing), ("search", search), ("small", small), ("tiny", tiny)):
            for i in range(20):
                await one(kind, make, i)
            statements["n"] = 0
            profiler = cProfile.Profile(time.process_time) if args.profile == kind else None  # CPU, not wall: the load
            cpu0, t0 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            for i in range(args.requests):
                await one(kind, make, i)
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
            print(f"{kind}: {cpu / args.requests * 1000:.2f} ms CPU/request (this process), "
                  f"{wall / args.requests * 1000:.2f} ms wall, {statements['n'] / args.requests:.2f} SQL "
                  f"statements/request over {args.requests} requests{' (profiled)' if profiler else ''}", flush=True)
            if profiler:
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(45)
                stats.sort_stats("tottime").print_stats(35)
    finally:
        await client.stop()
    print(f"load average {os.getloadavg()}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True, help="a database bench/graphql.py --keep left")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", choices=("listing", "search", "small", "tiny"))
    parser.add_argument("--personal-token", action="store_true",
                        help="call with a new editor's personal token (made in that database) instead of the master token")
    args = parser.parse_args()
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
