"""Browser sign-in over real HTTP against a real server: cookie flags, session revocation, the
one-time login link, throttling per user name and per client address, cross-origin refusal,
/admin for admins only, and subscriptions closed when their token is revoked."""
from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from access_helpers import PASSWORD, make_user, token_headers
from api_helpers import LiveServer, free_port
from backend.api.app import create_app
from backend.catalog import sessions
from backend.catalog.tables import UserSession

ME = {"query": "{ me { kind user { username } } }"}


@pytest.fixture
def server(api_settings, live_server, db):
    return live_server(create_app(api_settings, run_jobs=False, db_pool=False))


def cookie_header(resp: httpx.Response) -> str:
    return resp.headers.get("set-cookie", "")


async def login(http: httpx.AsyncClient, username: str, password: str, **headers) -> httpx.Response:
    return await http.post("/api/auth/login", json={"username": username, "password": password}, headers=headers)


async def test_login_sets_a_strict_httponly_session_that_logout_revokes(server):
    user = await make_user("editor")
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.post("/graphql", json=ME)).status_code == 401
        resp = await login(http, user.username, PASSWORD)
        assert resp.status_code == 200 and resp.json()["role"] == "editor"
        flags = cookie_header(resp).lower()
        assert "mpr_session=" in flags and "httponly" in flags and "samesite=strict" in flags
        assert "secure" not in flags.replace("samesite", "")  # plain http, no proxy saying otherwise
        secret = http.cookies.get("mpr_session")
        assert not await UserSession.exists().where(UserSession.token_hash == secret)  # stored hashed only
        assert await UserSession.exists().where(UserSession.token_hash == sessions.digest(secret))
        me = (await http.post("/graphql", json=ME)).json()["data"]["me"]
        assert me == {"kind": "session", "user": {"username": user.username}}
        resp = await http.get("/api/auth/logout")
        assert resp.status_code == 303
    async with httpx.AsyncClient(base_url=server.url, cookies={"mpr_session": secret}) as stale:
        assert (await stale.post("/graphql", json=ME)).status_code == 401


def raw_server(app) -> LiveServer:
    """uvicorn without its own X-Forwarded-* handling, so the app alone decides whom to believe."""
    srv = LiveServer(app, free_port())
    srv.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=srv.port, log_level="warning",
                                               proxy_headers=False, lifespan="on"))
    srv.thread = threading.Thread(target=srv.server.run, daemon=True)
    srv.start()
    return srv


@pytest.fixture
def raw_servers():
    started: list[LiveServer] = []
    yield lambda app: started.append(raw_server(app)) or started[-1]
    for srv in started:
        srv.stop()


async def test_secure_cookie_only_when_a_trusted_proxy_says_tls(api_settings, raw_servers, db):
    user = await make_user("viewer")
    trusting = raw_servers(create_app(api_settings, run_jobs=False, db_pool=False))
    distrusting = raw_servers(create_app(api_settings.with_(trusted_proxies=()), run_jobs=False, db_pool=False))
    async with httpx.AsyncClient(base_url=trusting.url) as http:
        resp = await login(http, user.username, PASSWORD, **{"X-Forwarded-Proto": "https"})
        assert "; secure" in cookie_header(resp).lower()
    async with httpx.AsyncClient(base_url=distrusting.url) as http:
        resp = await login(http, user.username, PASSWORD, **{"X-Forwarded-Proto": "https"})
        assert resp.status_code == 200
        assert "; secure" not in cookie_header(resp).lower()


async def test_form_login_redirects_to_the_page(server):
    user = await make_user("viewer")
    async with httpx.AsyncClient(base_url=server.url) as http:
        resp = await http.post("/api/auth/login", data={"username": user.username, "password": "nope nope"})
        assert (resp.status_code, resp.headers["location"]) == (303, "/?login_error=wrong")
        assert "mpr_session" not in http.cookies
        resp = await http.post("/api/auth/login", data={"username": user.username, "password": PASSWORD})
        assert (resp.status_code, resp.headers["location"]) == (303, "/")
        assert http.cookies.get("mpr_session")


async def test_cross_origin_login_is_refused(server):
    user = await make_user("viewer")
    async with httpx.AsyncClient(base_url=server.url) as http:
        resp = await http.post("/api/auth/login", data={"username": user.username, "password": PASSWORD},
                               headers={"Origin": "http://evil.example"})
        assert resp.status_code == 403 and "mpr_session" not in http.cookies


async def test_21_bad_logins_for_one_user_do_not_lock_out_another(server):
    alice, bob = await make_user("editor"), await make_user("editor")
    async with httpx.AsyncClient(base_url=server.url) as http:
        answers = [(await login(http, alice.username, "wrong password")).status_code for _ in range(21)]
        assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
        blocked = await login(http, alice.username, PASSWORD)  # even the right password waits out the block
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
        assert (await login(http, bob.username, PASSWORD)).status_code == 200
    from backend.catalog.tables import AuditEvent

    refused = await AuditEvent.count().where(AuditEvent.action == "login", AuditEvent.ok.eq(False))
    assert refused == 22


async def test_one_client_address_spraying_names_is_blocked_alone(server):
    """Behind a trusted proxy the real client is X-Forwarded-For's; one address is blocked, not the proxy."""
    user = await make_user("viewer")
    sprayer = {"X-Forwarded-For": "203.0.113.9"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        for i in range(50):
            await login(http, f"nobody-{i}", "guess guess", **sprayer)
        assert (await login(http, user.username, PASSWORD, **sprayer)).status_code == 429
        assert (await login(http, user.username, PASSWORD, **{"X-Forwarded-For": "198.51.100.7"})).status_code == 200


async def test_deactivated_user_cannot_log_in(server):
    from backend.catalog.accounts import update_user

    user = await make_user("admin")
    await update_user(user.id, active=False)
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await login(http, user.username, PASSWORD)).status_code == 401


async def test_the_login_link_works_once(server):
    user = await make_user("admin")
    secret = await sessions.create_login_link(user.id)
    async with httpx.AsyncClient(base_url=server.url) as http:
        resp = await http.get(f"/api/auth/link/{secret}")
        assert (resp.status_code, resp.headers["location"]) == (303, "/")
        assert "httponly" in cookie_header(resp).lower()
        assert (await http.post("/graphql", json=ME)).json()["data"]["me"]["user"]["username"] == user.username
    async with httpx.AsyncClient(base_url=server.url) as other:
        again = await other.get(f"/api/auth/link/{secret}")
        assert again.status_code == 403 and "mpr_session" not in other.cookies
        assert (await other.get("/api/auth/link/not-a-link")).status_code == 403


async def test_admin_lets_in_only_active_admins_and_keeps_session_hashes(server):
    from piccolo_api.session_auth.tables import SessionsBase

    from backend.catalog.accounts import update_user

    editor, admin, former = await make_user("editor"), await make_user("admin"), await make_user("admin")
    await update_user(former.id, active=False)
    async with httpx.AsyncClient(base_url=server.url, follow_redirects=True) as http:
        await http.get("/admin/")
        csrf = {"X-CSRFToken": http.cookies.get("csrftoken") or ""}
        for user in (editor, former):  # not an admin; an admin no more
            refused = await http.post("/admin/public/login/", json={"username": user.username, "password": PASSWORD},
                                      headers=csrf)
            assert refused.status_code >= 400 and "id" not in http.cookies
        ok = await http.post("/admin/public/login/", json={"username": admin.username, "password": PASSWORD},
                             headers=csrf)
        assert ok.status_code == 200, ok.text
        cookie = http.cookies.get("id")
        assert cookie and not await SessionsBase.exists().where(SessionsBase.token == cookie)
        assert (await http.get("/admin/api/user/")).status_code == 200


async def test_revoking_a_token_closes_its_subscription(server):
    editor = await make_user("editor")
    headers, token_id = await token_headers(editor, "write")
    ws = await connect(server.url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": headers}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe",
                              "payload": {"query": "subscription { jobUpdates { jobId status } }"}}))
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        resp = await http.post("/graphql", json={"query": "mutation($id: ID!) { revokeApiToken(id: $id) { id } }",
                                                 "variables": {"id": str(token_id)}})
        assert resp.json()["data"]["revokeApiToken"]["id"] == str(token_id)
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd.code == 4403


async def test_control_characters_in_a_login_are_a_plain_refusal(server):
    """NUL cannot even be compared in PostgreSQL: such a name is refused, never a server error."""
    async with httpx.AsyncClient(base_url=server.url) as http:
        for name in ("ad\x00min", "\x07", "a\nb"):
            assert (await login(http, name, "whatever pw")).status_code == 401
        assert (await login(http, "admin", "pass\x00word")).status_code == 401
