"""The UI login holds at the event socket, not only on the page.

With MPR_UI_LOGIN=1 a script can still open `/_event` and send any handler's event by name. These
tests do that (tests/ui/reflex_socket.py) against a real `serve()`d MPR and check by observation
that nothing ran: no connection from the server's processes to its own API (the UI's GraphQL
client opens one for its first request and keeps it alive), the catalog unchanged (read with the
API token), and no library data in anything sent back. Each negative check has its positive twin
in the same test (after a real login the same events do reach the API), so the observations are
known to see what they look for.

The last test follows a job over `ws://host:port/graphql` on the same served port: the path the UI
takes in a browser.
"""
from __future__ import annotations

import asyncio
import json
import shutil

import httpx
import psutil
import pytest
from websockets.asyncio.client import connect

import ui_stack
from reflex_socket import ReflexSocket, delta_values, event_name
from ui.state.base import AppState
from ui.state.details import DetailsState
from ui.state.editor import EditorState
from ui.state.library import LibraryState
from ui.state.scan import ScanState
from ui.state.queue import QueueState

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(400)]

AUTH = {"Authorization": f"Bearer {ui_stack.API_TOKEN}"}
HYDRATE = "reflex___state____state.hydrate"
MARKER = event_name(DetailsState, "set_tag_input")  # sets one string var: the end-of-event marker


@pytest.fixture(scope="module")
def login_stack(tmp_path_factory):
    """(base URL, port, server process, media root) of an MPR with the demo clips and the UI login on."""
    root = tmp_path_factory.mktemp("ui-event-security")
    proc, port = ui_stack.start_and_wait(root, demo=True, env={"MPR_UI_LOGIN": "1"})
    yield f"http://127.0.0.1:{port}", port, proc, root / "media"
    ui_stack.stop(proc)


def api_calls_in_flight(proc, port: int) -> list[str]:
    """Connections the server's own processes hold to its port: the UI's GraphQL client."""
    found = []
    for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]:
        try:
            conns = p.net_connections(kind="tcp")
        except psutil.NoSuchProcess:
            continue
        found += [f"{p.pid} {c.laddr.port}->{c.raddr.port} {c.status}" for c in conns
                  if c.raddr and c.raddr.port == port and c.laddr.port != port]
    return found


def catalog(base: str) -> dict:
    """Assets and jobs as the API (with its token) reports them."""
    query = "{ assets(first: 100) { edges { node { id filename storageKey } } } jobs { totalCount } }"
    resp = httpx.post(base + "/graphql", json={"query": query}, headers=AUTH, timeout=30)
    data = resp.json()["data"]
    return {"assets": sorted((n["node"]["id"], n["node"]["storageKey"]) for n in data["assets"]["edges"]),
            "jobs": data["jobs"]["totalCount"]}


def add_unregistered_clip(media) -> str:
    """A new file in the input folder: a scan that ran would register it."""
    source = next(p for p in sorted((media / "in").rglob("*.mp4")))
    target = media / "in" / "not-yet-scanned.mp4"
    if not target.exists():
        shutil.copyfile(source, target)
    return "not-yet-scanned.mp4"


def stranger_events(asset_id: str) -> list[tuple[str, dict]]:
    """Every handler that reaches the API, with arguments that would work for a signed-in tab."""
    return [
        (event_name(QueueState, "poll"), {}),
        (event_name(QueueState, "start"), {}),
        (event_name(LibraryState, "load"), {}),
        (event_name(LibraryState, "set_search"), {"value": "a"}),
        (event_name(LibraryState, "set_status_filter"), {"value": "all"}),
        (event_name(LibraryState, "set_area_filter"), {"value": "all"}),
        (event_name(LibraryState, "select"), {"asset_id": asset_id}),
        (event_name(EditorState, "open_asset"), {"asset_id": asset_id}),
        (event_name(EditorState, "load_presets"), {}),
        (event_name(EditorState, "refresh_asset"), {}),
        (event_name(EditorState, "submit"), {}),
        (event_name(DetailsState, "save"), {}),
        (event_name(DetailsState, "set_delete_file"), {"value": True}),
        (event_name(DetailsState, "delete"), {}),
        (event_name(QueueState, "refresh_now"), {}),
        (event_name(QueueState, "set_filter"), {"value": "all"}),
        (event_name(QueueState, "cancel"), {"job_id": "1"}),
        (event_name(QueueState, "retry"), {"job_id": "1"}),
        (event_name(QueueState, "delete"), {"job_id": "1"}),
        (event_name(QueueState, "ask_clear"), {}),
        (event_name(QueueState, "confirmed"), {}),  # would delete every finished job
        (event_name(ScanState, "scan"), {}),
        # no setter makes a tab "authenticated": setvar refuses vars without one
        (event_name(AppState, "setvar"), {"var_name": "authenticated", "value": True}),
        (event_name(ScanState, "scan"), {}),
    ]



def sign_in_cookie(base: str) -> str:
    """Sign in as the login form does (POST /api/auth/login); the session's Cookie header."""
    done = httpx.post(base + "/api/auth/login", json={"username": "admin", "password": ui_stack.ADMIN_PASSWORD},
                      headers={"Origin": base}, timeout=30)
    assert done.status_code == 200, done.text
    return f"mpr_session={done.cookies['mpr_session']}"


def sign_out(base: str, cookie: str) -> None:
    """What the page does after the logout event: GET /api/auth/logout ends the session."""
    done = httpx.get(base + "/api/auth/logout", headers={"Origin": base, "Cookie": cookie}, timeout=30,
                     follow_redirects=False)
    assert done.status_code < 400, done.text

async def test_a_stranger_s_events_run_nothing(login_stack):
    base, port, proc, media = login_stack
    assert api_calls_in_flight(proc, port) == [], "no tab has logged in yet: the UI has called nothing"
    new_file = add_unregistered_clip(media)
    before = catalog(base)
    asset_id = before["assets"][0][0]

    tab = await ReflexSocket.open(base, MARKER)
    try:
        hydrated = await tab.call(HYDRATE)
        booted = await tab.call(event_name(AppState, "boot"))
        values = delta_values(hydrated + booted)
        assert values[f"{AppState.get_full_name()}.authenticated_rx_state_"] is False
        assert values.get(f"{LibraryState.get_full_name()}.assets_rx_state_", []) == []
        for name, payload in stranger_events(asset_id):
            await tab.call(name, payload)
        assert api_calls_in_flight(proc, port) == [], "an event of a stranger's tab called the API"
    finally:
        await tab.close()

    after = catalog(base)
    assert after == before, "the catalog changed"
    assert new_file not in {key for _, key in after["assets"]}
    sent = json.dumps(tab.updates)
    for _, key in before["assets"]:  # no name of a library file ever reached the stranger
        assert key.rsplit("/", 1)[-1] not in sent, key
    values = delta_values(tab.updates)
    assert values[f"{AppState.get_full_name()}.authenticated_rx_state_"] is False
    assert not values.get(f"{EditorState.get_full_name()}.has_asset_rx_state_", False)

    # the positive twin: after a real login the same socket path reaches the API and the library
    tab = await ReflexSocket.open(base, MARKER, cookie=sign_in_cookie(base))
    try:
        await tab.call(HYDRATE)
        await tab.call(event_name(AppState, "boot"))
        assert api_calls_in_flight(proc, port), "the observation must see the UI's API calls"
        library = delta_values(tab.updates).get(f"{LibraryState.get_full_name()}.assets_rx_state_", [])
        assert {a["id"] for a in library} == {i for i, _ in before["assets"]}
    finally:
        await tab.close()


async def test_a_signed_out_tab_cannot_delete_or_scan(login_stack):
    """Signed in, an asset opened, then signed out: the tab still holds the asset, but its
    delete (with the file) and scan events do nothing."""
    base, port, proc, media = login_stack
    new_file = add_unregistered_clip(media)
    before = catalog(base)
    asset_id, key = before["assets"][0]
    on_disk = media / "in" / key
    assert on_disk.exists()

    cookie = sign_in_cookie(base)
    tab = await ReflexSocket.open(base, MARKER, cookie=cookie)
    try:
        await tab.call(HYDRATE)
        await tab.call(event_name(AppState, "boot"))  # what the page sends on load
        await tab.call(event_name(LibraryState, "select"), {"asset_id": asset_id})
        opened = delta_values(tab.updates)
        assert opened[f"{EditorState.get_full_name()}.has_asset_rx_state_"] is True  # it works signed in
        await tab.call(event_name(AppState, "logout"))
        sign_out(base, cookie)  # the page then opens /api/auth/logout, which ends the session
        assert delta_values(tab.updates)[f"{AppState.get_full_name()}.authenticated_rx_state_"] is False
        await tab.call(event_name(DetailsState, "set_delete_file"), {"value": True})
        await tab.call(event_name(DetailsState, "delete"))
        await tab.call(event_name(ScanState, "scan"))
    finally:
        await tab.close()

    after = catalog(base)
    assert (asset_id, key) in after["assets"], "a signed-out tab deleted an asset"
    assert on_disk.exists(), "a signed-out tab deleted the file"
    assert new_file not in {k for _, k in after["assets"]}, "a signed-out tab scanned the folder"


async def test_sign_out_never_signs_a_tab_in(login_stack):
    """A script that skips the page's boot event and sends `logout` first: sign-out must not
    decide from a tab's never-set `login_required` that no login is needed."""
    base, port, proc, media = login_stack
    new_file = add_unregistered_clip(media)
    before = catalog(base)
    tab = await ReflexSocket.open(base, MARKER)
    try:
        await tab.call(HYDRATE)
        await tab.call(event_name(AppState, "logout"))
        await tab.call(event_name(ScanState, "scan"))
        await tab.call(event_name(LibraryState, "load"))
    finally:
        await tab.close()
    values = delta_values(tab.updates)
    assert values.get(f"{AppState.get_full_name()}.authenticated_rx_state_", False) is False
    assert values.get(f"{LibraryState.get_full_name()}.assets_rx_state_", []) == []
    after = catalog(base)
    assert after == before and new_file not in {k for _, k in after["assets"]}


SUBSCRIBE = "subscription { jobUpdates { jobId status progress } }"


async def test_subscription_through_the_served_port(login_stack):
    """The UI's real path: graphql-transport-ws on the port `serve()` (mpr up) listens on."""
    base, _port, _proc, _media = login_stack
    presets = httpx.post(base + "/graphql", json={"query": "{ presets { id name } }"}, headers=AUTH).json()
    preset_id = next(p["id"] for p in presets["data"]["presets"] if p["name"] == "Trim only (stream copy)")
    asset_id = next(i for i, key in catalog(base)["assets"] if key.endswith(".mp4"))
    async with connect(base.replace("http", "ws", 1) + "/graphql", subprotocols=["graphql-transport-ws"],
                       origin=base) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"token": ui_stack.API_TOKEN}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
        await ws.send(json.dumps({"type": "ping"}))  # answered after the subscribe was taken
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "pong"
        created = httpx.post(base + "/graphql", headers=AUTH, timeout=30, json={
            "query": "mutation($input: CreateJobInput!) { createJob(input: $input) { id } }",
            "variables": {"input": {"sourceId": asset_id, "presetId": preset_id, "trimStart": 0.0,
                                    "trimEnd": 0.8, "outputName": "via-single-port"}}}).json()
        job_id = created["data"]["createJob"]["id"]
        seen = []
        while not seen or seen[-1] not in ("SUCCEEDED", "FAILED", "CANCELLED"):
            msg = json.loads(await asyncio.wait_for(ws.recv(), 120))
            assert msg["type"] == "next", msg
            update = msg["payload"]["data"]["jobUpdates"]
            if update["jobId"] == job_id:
                seen.append(update["status"])
    assert seen[-1] == "SUCCEEDED", seen
