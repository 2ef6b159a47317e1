"""Webhook benchmark: a real `mpr api` process (SQLite, local executor) and receivers on loopback.

Measures, in one run:
- delivery latency: `redeliverWebhook` answered → the receiver has the request (the dispatcher is
  woken in-process; no poll interval in it), p50/p90 of --deliveries;
- GraphQL p50/p99 of a small query (webhooks + a page of assets), --requests sequential calls,
  first with the dispatcher idle, then while every one of its slots (MPR_WEBHOOK_CONCURRENCY = 8)
  waits on a receiver that never answers and 50 more deliveries wait for a slot, then idle again
  (the drift of a busy machine between phases).

    .venv/bin/python bench/webhooks.py [--requests 300] [--deliveries 30]

Prints a human summary and one JSON line. Traffic goes to 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from backend.config import REPO_ROOT  # noqa: E402

TOKEN = "bench-webhooks-token"
QUERY = "{ webhooks { id } assets(first: 20) { nodes { id status } } }"
CONCURRENCY = 8


class Receiver:
    """answer None: read the request and never answer (until the bench ends)."""

    def __init__(self, answer: int | None):
        self.arrived: list[float] = []
        self.bodies: list[bytes] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.arrived.append(time.perf_counter())
                receiver.bodies.append(body)
                if answer is None:
                    receiver.release.wait(600)
                    return
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


async def gql(client: httpx.AsyncClient, url: str, query: str, variables: dict | None = None) -> dict:
    resp = await client.post(url, json={"query": query, "variables": variables or {}},
                             headers={"Authorization": f"Bearer {TOKEN}"})
    body = resp.json()
    if resp.status_code != 200 or body.get("errors"):
        raise RuntimeError(resp.text[:500])
    return body["data"]


async def latencies(client, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        await gql(client, url, QUERY)
        out.append((time.perf_counter() - t) * 1000)
    return out


async def run(args, root: Path) -> dict:
    db = f"sqlite:///{root / 'mpr.sqlite'}"
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MPR_")},
           "MPR_DATABASE_URL": db, "MPR_DATA_DIR": str(root / "data"), "MPR_MEDIA_ROOT": str(root / "media"),
           "MPR_API_TOKEN": TOKEN, "MPR_ADMIN_PASSWORD": "bench-admin-pw", "MPR_LOG_LEVEL": "WARNING",
           "MPR_WORKERS": "1", "MPR_WEBHOOK_CONCURRENCY": str(CONCURRENCY), "MPR_WEBHOOK_TIMEOUT": "300"}
    for sub in ("in", "out", "thumbs"):
        (root / "media" / sub).mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], cwd=REPO_ROOT, env=env, check=True,
                   capture_output=True)
    log = open(root / "app.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "api", "--port", str(port)], cwd=REPO_ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    url = base + "/graphql"
    ok, hang = Receiver(204), Receiver(None)
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            for _ in range(300):
                try:
                    if (await client.get(base + "/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            create = "mutation($u: String!) { createWebhook(input: {url: $u}) { webhook { id } } }"
            fast = (await gql(client, url, create, {"u": ok.url}))["createWebhook"]["webhook"]["id"]

            # one delivery to replay: queued from this process through the app's own database
            from backend.catalog import webhooks
            from backend.catalog.db import bind_engine
            from backend.catalog.engine import engine_from_url
            bind_engine(engine_from_url(db))
            await webhooks.emit("asset.ready", "asset:0", {"asset": {"id": 0}})
            while not ok.arrived:
                await asyncio.sleep(0.05)
            page = await gql(client, url, 'query($id: ID!) { webhookDeliveries(webhookId: $id) { nodes { id } } }',
                             {"id": fast})
            first_id = page["webhookDeliveries"]["nodes"][0]["id"]
            delivery_ms = []
            for _ in range(args.deliveries):
                before = len(ok.arrived)
                await gql(client, url, "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }",
                          {"id": first_id})
                answered = time.perf_counter()
                while len(ok.arrived) == before:
                    await asyncio.sleep(0.002)
                delivery_ms.append((ok.arrived[before] - answered) * 1000)

            await latencies(client, url, 20)  # warm up
            idle = await latencies(client, url, args.requests)

            slow = (await gql(client, url, create, {"u": hang.url}))["createWebhook"]["webhook"]["id"]
            for i in range(CONCURRENCY + 50):
                await webhooks.emit("job.failed", f"job:{i}", {"job": {"id": i}}, only_endpoints=None)
            deadline = time.monotonic() + 60
            while len(hang.arrived) < CONCURRENCY and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            held = len(hang.arrived)
            busy = await latencies(client, url, args.requests)
            still = len(hang.arrived)
            # the same again with nothing hanging (the machine's drift between the phases)
            await gql(client, url, "mutation($id: ID!) { deleteWebhook(id: $id) { deleted } }", {"id": slow})
            hang.release.set()
            await asyncio.sleep(1.0)
            after = await latencies(client, url, args.requests)
    finally:
        ok.close()
        hang.close()
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    return {
        "delivery_ms": {"p50": pct(delivery_ms, 50), "p90": pct(delivery_ms, 90), "n": len(delivery_ms)},
        "graphql_idle_ms": {"p50": pct(idle, 50), "p99": pct(idle, 99), "n": len(idle)},
        "graphql_hanging_ms": {"p50": pct(busy, 50), "p99": pct(busy, 99), "n": len(busy)},
        "graphql_after_ms": {"p50": pct(after, 50), "p99": pct(after, 99), "n": len(after)},
        "hanging_requests_held": held, "hanging_requests_after": still,
        "p50_ratio": round(statistics.median(busy) / statistics.median(idle), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--deliveries", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mpr-bench-webhooks-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    d, i, b = result["delivery_ms"], result["graphql_idle_ms"], result["graphql_hanging_ms"]
    print(f"delivery latency (redeliverWebhook answered -> receiver has it): p50 {d['p50']} ms, p90 {d['p90']} ms")
    print(f"GraphQL p50 {i['p50']} ms (p99 {i['p99']}) idle; p50 {b['p50']} ms (p99 {b['p99']}) with "
          f"{result['hanging_requests_held']} deliveries hanging (still {result['hanging_requests_after']} after); "
          f"p50 {result['graphql_after_ms']['p50']} ms once they were gone")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
