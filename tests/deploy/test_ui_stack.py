"""The UI route of the deployment: `backend.serve` (Reflex prod, UI + API on one port, what `mpr up`
runs in the container) behind deploy/nginx.conf. The page loads through the proxy, Reflex's own
websocket (/_event) upgrades through it, the UI build points browsers at the proxy
(REFLEX_API_URL), and /readyz, /metrics reach the API through the one-port dispatch.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from reflex_base.constants.event import Endpoint
from websockets.asyncio.client import connect

from backend.config import REPO_ROOT

from nginx_proc import Nginx, ensure_nginx, render_config
from tcp_forwarder import free_port

pytestmark = pytest.mark.slow

SERVE = ("from pathlib import Path; from backend.config import Settings; from backend.serve import serve; "
         "import sys; sys.exit(serve(Settings.from_env(), web_dir=Path(sys.argv[1]), states_dir=Path(sys.argv[2])))")


DEPLOYER_PASSWORD = "deployer password"


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory):
    binary = ensure_nginx()
    root = tmp_path_factory.mktemp("deploy-ui")
    port, proxy_port = free_port(), free_port()
    proxy = f"http://127.0.0.1:{proxy_port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MPR_")},
        "MPR_DATABASE_URL": f"sqlite:///{root / 'mpr.sqlite'}",
        "MPR_MEDIA_ROOT": str(root / "media"),
        "MPR_DATA_DIR": str(root / "data"),
        "MPR_API_TOKEN": "deploy-ui-token",
        "MPR_ADMIN_PASSWORD": "deploy-ui-password",
        "MPR_WORKERS": "1",
        "MPR_PORT": str(port),
        "MPR_LOG_LEVEL": "WARNING",
        "REFLEX_API_URL": proxy,  # what the compose env file sets: the address browsers use
    }
    done = subprocess.run([sys.executable, "-m", "backend.cli", "migrate"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([sys.executable, "-m", "backend.cli", "user", "create", "deployer", "--role", "editor",
                           "--password", DEPLOYER_PASSWORD], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    log_path = root / "ui.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", SERVE, str(root / "web"), str(root / "states")], cwd=REPO_ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    nginx = Nginx(binary, render_config(f"127.0.0.1:{port}", proxy_port, root / "nginx"), proxy_port)
    try:
        nginx.start()
        started = time.monotonic()
        while True:  # the first prod build takes a while on a busy machine
            assert proc.poll() is None, log_path.read_text(errors="replace")[-4000:]
            try:
                if httpx.get(f"{proxy}/", timeout=3).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() - started < 300, "the UI did not come up behind nginx"
            time.sleep(1)
        yield proxy, root / "web"
    finally:
        nginx.stop()
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_page_and_api_paths_through_the_proxy(ui_stack):
    proxy, _ = ui_stack
    page = httpx.get(f"{proxy}/", timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()
    ready = httpx.get(f"{proxy}/readyz", timeout=15)
    assert ready.status_code == 200 and ready.json()["checks"]["executor"]["ok"], ready.text
    metrics = httpx.get(f"{proxy}/metrics", timeout=15)
    assert metrics.status_code == 200 and "mpr_queue_depth 0" in metrics.text
    gql = httpx.post(f"{proxy}/graphql", json={"query": "{ presets { name } }"},
                     headers={"Authorization": "Bearer deploy-ui-token"}, timeout=15)
    assert gql.status_code == 200 and gql.json()["data"]["presets"]


def test_sign_in_through_the_proxy(ui_stack):
    """The login page's form through nginx: a strict HttpOnly session cookie (not Secure: nginx says
    plain http), which then opens the API as that user; signing out ends it."""
    proxy, _ = ui_stack
    with httpx.Client(base_url=proxy, timeout=15) as http:
        assert http.post("/graphql", json={"query": "{ me { role } }"}).status_code == 401
        # a browser's form post names the page's origin: through nginx it must still match the Host
        resp = http.post("/api/auth/login", data={"username": "deployer", "password": DEPLOYER_PASSWORD},
                         headers={"Origin": proxy})
        assert (resp.status_code, resp.headers["location"]) == (303, "/")
        flags = resp.headers["set-cookie"].lower()
        assert "httponly" in flags and "samesite=strict" in flags and "; secure" not in flags
        me = http.post("/graphql", json={"query": "{ me { role user { username } } }"}).json()["data"]["me"]
        assert me == {"role": "editor", "user": {"username": "deployer"}}
        assert http.get("/api/auth/logout").status_code == 303
        assert http.post("/graphql", json={"query": "{ me { role } }"}).status_code == 401


def test_the_build_sends_browsers_through_the_proxy(ui_stack):
    proxy, web_dir = ui_stack
    env = json.loads((web_dir / "env.json").read_text())
    assert env["EVENT"] == proxy.replace("http", "ws") + str(Endpoint.EVENT)
    assert env["UPLOAD"] == proxy + str(Endpoint.UPLOAD)


async def test_reflex_event_websocket_through_the_proxy(ui_stack):
    proxy, _ = ui_stack
    url = proxy.replace("http", "ws") + f"{Endpoint.EVENT}/?EIO=4&transport=websocket"
    async with connect(url, origin=proxy) as ws:
        opening = await asyncio.wait_for(ws.recv(), 15)
    assert opening.startswith("0{") and '"sid"' in opening  # engine.io's open packet
