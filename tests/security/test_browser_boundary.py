"""The browser boundary of a real `mpr up`, driven as an attacker's page would (issue 14):
a foreign-origin Reflex socket, cross-origin uploads, CORS, DNS rebinding (foreign Host), and
the security headers of the app's pages. Each attack is refused; the same request from the
app's own origin works, so the refusal is the origin's doing.
"""
from __future__ import annotations

import base64
import json
import os
import socket

import httpx
import pytest
from reflex_base.constants.event import Endpoint

from security_stack import EVIL

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

REBOUND = "attacker.example"


def handshake_status(port: int, path: str, *, host: str, origin: str | None, protocol: str | None = None) -> int:
    """The HTTP status a websocket upgrade of `path` gets (101 = accepted), sent byte for byte."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}", "Sec-WebSocket-Version: 13"]
    if origin:
        lines.append(f"Origin: {origin}")
    if protocol:
        lines.append(f"Sec-WebSocket-Protocol: {protocol}")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


def event_path() -> str:
    return f"{Endpoint.EVENT}/?EIO=4&transport=websocket"


def test_foreign_origin_event_socket_gets_nothing(stack):
    own = f"127.0.0.1:{stack.port}"
    # the app's own page may open Reflex's socket (control: the test can see an accepted socket)
    assert handshake_status(stack.port, event_path(), host=own, origin=stack.origin) == 101
    # a page on another site may not: no socket, so no state is hydrated and no event runs
    assert handshake_status(stack.port, event_path(), host=own, origin=EVIL) == 403
    assert handshake_status(stack.port, event_path(), host=own, origin="null") == 403
    # nor through engine.io's long-polling fallback
    polling = httpx.get(f"{stack.url}{Endpoint.EVENT}/?EIO=4&transport=polling", headers={"Origin": EVIL}, timeout=20)
    assert polling.status_code == 403 and '"sid"' not in polling.text
    assert "access-control-allow-origin" not in polling.headers
    # GraphQL subscriptions: same rule
    assert handshake_status(stack.port, "/graphql", host=own, origin=EVIL, protocol="graphql-transport-ws") == 403


def test_cross_origin_upload_creates_nothing(stack):
    before_files = sorted(p.name for p in stack.in_root.rglob("*"))
    before_assets = len(stack.assets())
    for path in (str(Endpoint.UPLOAD), "/graphql"):
        operations = {"query": "mutation($file: Upload!) { uploadAsset(file: $file) { id } }", "variables": {"file": None}}
        resp = httpx.post(
            f"{stack.url}{path}", timeout=30,
            headers={"Origin": EVIL, "Reflex-Client-Token": "stolen-token", "Authorization": stack.auth()["Authorization"],
                     "Reflex-Event-Handler": "state.app_state.library_state.handle_upload"},
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
            files={"files": ("evil.mp4", b"\x00" * 4096, "video/mp4"), "0": ("evil.mp4", b"\x00" * 4096, "video/mp4")},
        )
        assert resp.status_code == 403, (path, resp.status_code, resp.text[:300])
        assert "access-control-allow-origin" not in resp.headers
    assert sorted(p.name for p in stack.in_root.rglob("*")) == before_files
    assert len(stack.assets()) == before_assets


def test_no_cors_reflection(stack):
    clip = stack.upload(_tiny_jpeg(), "cors-probe.jpg")["data"]["uploadAsset"]
    media = httpx.URL(stack.url).join(clip["mediaUrl"])
    targets = [("GET", f"{stack.url}/graphql"), ("POST", f"{stack.url}/graphql"), ("GET", f"{stack.url}/admin/api/tables/"),
               ("GET", str(media)), ("POST", f"{stack.url}{Endpoint.UPLOAD}"), ("GET", f"{stack.url}/")]
    with httpx.Client(timeout=30) as http:
        for method, url in targets:
            foreign = http.request(method, url, headers={"Origin": EVIL, **stack.auth()})
            assert foreign.status_code == 403, (method, url, foreign.status_code)
            assert "access-control-allow-origin" not in foreign.headers, (method, url, foreign.headers)
            preflight = http.options(url, headers={"Origin": EVIL, "Access-Control-Request-Method": "POST",
                                                   "Access-Control-Request-Headers": "authorization"})
            assert preflight.headers.get("access-control-allow-origin") in (None, ""), (url, preflight.headers)
            # the app's own origin is on the explicit list: named back exactly, never "*"
            own = http.options(url, headers={"Origin": stack.origin, "Access-Control-Request-Method": "POST"})
            assert own.headers.get("access-control-allow-origin") == stack.origin, (url, own.headers)
        own_media = http.get(str(media), headers={"Origin": stack.origin})
        assert own_media.status_code == 200 and own_media.content[:2] == b"\xff\xd8"


def test_host_rebinding_is_refused_everywhere(stack):
    media = httpx.URL(stack.url).join(stack.upload(_tiny_jpeg(), "rebind.jpg")["data"]["uploadAsset"]["mediaUrl"])
    with httpx.Client(timeout=30) as http:
        for method, path in [("GET", "/"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
                             ("GET", "/admin/"), ("POST", "/graphql"), ("GET", f"{media.path}?{media.query.decode()}"),
                             ("POST", str(Endpoint.UPLOAD)), ("GET", f"{Endpoint.EVENT}/?EIO=4&transport=polling"),
                             ("POST", "/api/jobs/1/callback")]:
            # what a DNS-rebound page sends: its own name as Host, and (for non-GET) its own origin
            headers = {"Host": f"{REBOUND}:{stack.port}", **stack.auth()}
            if method == "POST":
                headers["Origin"] = f"http://{REBOUND}:{stack.port}"
            resp = http.request(method, f"{stack.url}{path}", headers=headers, json={"query": "{ presets { id } }"})
            assert resp.status_code == 400, (path, resp.status_code, resp.text[:200])
            assert "not a name of this server" in resp.text
            assert "presets" not in resp.text and "sid" not in resp.text
        assert http.get(f"{stack.url}/healthz").status_code == 200  # control: the real name passes
        assert http.get(f"{stack.url}/healthz", headers={"Host": f"localhost:{stack.port}"}).status_code == 200
    for path, protocol in ((event_path(), None), ("/graphql", "graphql-transport-ws")):
        status = handshake_status(stack.port, path, host=f"{REBOUND}:{stack.port}",
                                  origin=f"http://{REBOUND}:{stack.port}", protocol=protocol)
        assert status in (400, 403), (path, status)


def test_pages_carry_security_headers(stack):
    with httpx.Client(timeout=30) as http:
        for path in ("/", "/admin/", "/graphql", "/healthz"):
            resp = http.get(f"{stack.url}{path}", headers={"Accept": "text/html"})
            assert resp.status_code == 200, (path, resp.status_code)
            h = resp.headers
            assert h["x-content-type-options"] == "nosniff", path
            assert h["referrer-policy"] == "same-origin", path
            assert h["x-frame-options"] == "DENY", path
            csp = h["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "base-uri 'self'" in csp, path
            assert "default-src 'self'" in csp and "*" not in csp.replace("https://*.amazonaws.com", ""), csp


def _tiny_jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(out, format="JPEG")
    return out.getvalue()
