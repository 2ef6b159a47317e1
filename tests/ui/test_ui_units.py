"""Fast checks of the UI's pure parts: timecodes, trim rules (against the server's), the session
the UI forwards, display records, the one-port dispatch, serve()'s environment and the GraphQL client."""
from __future__ import annotations

import json
import os

import httpx
import pytest

from backend.config import Settings
from backend.jobs.errors import DomainError
from backend.jobs.service import validate_trim
from backend.serve import SETTINGS_VARS, command, server_env, settings_env
from ui import api, mount
from ui.models import asset_detail, asset_row, job_row
from ui.timecode import format_duration, format_tc, parse_tc, snap
from ui.trim import trim_problem


# ------------------------------------------------------------------ timecodes
@pytest.mark.parametrize("seconds, text", [
    (0, "00:00:00.000"), (1.5, "00:00:01.500"), (59.9996, "00:01:00.000"), (3725.042, "01:02:05.042"),
    (None, "00:00:00.000"), (-3, "00:00:00.000"), (float("nan"), "00:00:00.000"),
])
def test_format_tc(seconds, text):
    assert format_tc(seconds) == text


@pytest.mark.parametrize("text, seconds", [
    ("00:00:01.500", 1.5), ("1:02:05.042", 3725.042), ("02:03.5", 123.5), ("12.25", 12.25), ("7", 7.0),
    (" 00:00:04,5 ", 4.5),
])
def test_parse_tc(text, seconds):
    assert parse_tc(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "banana", "1:2:3:4", "00:61:00", "00:01:75.0", "-1"])
def test_parse_tc_refuses_with_a_reason(text):
    with pytest.raises(ValueError, match="time|below"):
        parse_tc(text)


def test_snap_to_frame_starts():
    assert snap(2.013, 30) == 2.0
    assert snap(5.02, 30) == pytest.approx(151 / 30, abs=1e-6)
    assert snap(1.2345, None) == 1.234 or snap(1.2345, None) == 1.235
    assert snap(10.01, 29.97) == pytest.approx(round(10.01 * 29.97) / 29.97, abs=1e-6)


def test_format_duration():
    assert format_duration(4.0) == "0:04" and format_duration(3725) == "1:02:05" and format_duration(None) == "–"


# ------------------------------------------------------------------ trim rules
@pytest.mark.parametrize("start, end", [
    (0, 10), (2, 4), (-1, 5), (5, 5), (6, 4), (0, 10.04), (0, 10.2), (9.99, 10), (10, 10), (0, 10.03),
    (3, 3.01), (3, 3.04),
])
def test_trim_rules_match_the_server(start, end):
    duration, fps = 10.0, 25.0
    try:
        validate_trim(start, end, duration, fps)
        accepted = True
    except DomainError:
        accepted = False
    message = trim_problem(start, end, duration, fps)
    assert (message == "") == accepted, (start, end, message)


def test_trim_messages_say_what_is_wrong():
    assert "past the end" in trim_problem(0, 25, 20, 30)
    assert "must come after" in trim_problem(6, 4, 20, 30)
    assert "before the start" in trim_problem(-1, 4, 20, 30)
    assert "no known duration" in trim_problem(0, 4, None, 30)


# ------------------------------------------------------------------ the session the UI forwards
def test_session_is_read_from_the_tabs_cookies():
    assert api.session_from_cookies("a=1; mpr_session=s3cret; b=2") == "s3cret"
    assert api.session_from_cookies("mpr_session=") is None
    assert api.session_from_cookies("") is None and api.session_from_cookies(None) is None
    assert api.session_from_cookies("other=1") is None


# ------------------------------------------------------------------ display records
def test_job_row_running_and_failed():
    running = job_row({"id": "7", "status": "RUNNING", "progress": 41.26, "speed": 2.345, "fps": 66.4,
                       "etaSeconds": 75, "attempt": 2, "maxAttempts": 3, "source": {"id": "1", "filename": "a.mp4"},
                       "preset": {"name": "H.264 480p"}, "trimStart": 1.0, "trimEnd": 3.5,
                       "outputFilename": "a-h264.mp4"})
    assert running.status == "running" and running.progress == 41.3 and running.progress_text == "41%"
    assert running.detail == "2.3× · 66 fps · ETA 1:15" and running.can_cancel and not running.can_retry
    assert running.attempt_text == "attempt 2" and not running.can_delete and running.trim_text == "00:00:01.000 → 00:00:03.500"
    failed = job_row({"id": "8", "status": "FAILED", "progress": 12, "error": "ffmpeg said no",
                      "presetSnapshot": {"name": "Old preset"}, "source": None})
    assert failed.can_retry and failed.can_delete and not failed.can_cancel and failed.error == "ffmpeg said no"
    assert failed.preset_name == "Old preset" and failed.source_name == "(deleted source)"
    done = job_row({"id": "9", "status": "SUCCEEDED", "progress": 99.2, "outputUrl": "/media/out/x.mp4",
                    "downloadUrl": "/media/out/x.mp4?dl=1&exp=1&sig=a",
                    "outputAsset": {"id": "12"}, "startedAt": "2026-01-01T00:00:00+00:00",
                    "finishedAt": "2026-01-01T00:00:04.5+00:00"})
    assert done.progress == 100 and done.output_asset_id == "12" and done.detail == "took 4.5 s"
    assert done.download_url.endswith("sig=a") and done.can_delete and not done.output_deleted
    gone = job_row({"id": "10", "status": "SUCCEEDED", "outputDeleted": True})
    assert gone.output_deleted and gone.download_url == "" and gone.output_url == ""


def test_media_kind_picks_the_element():
    from ui.models import media_kind

    assert media_kind({"filename": "a.gif", "container": "gif", "videoCodec": "gif"}) == "image"
    assert media_kind({"filename": "poster.jpg", "container": "image2", "videoCodec": "mjpeg"}) == "image"
    assert media_kind({"filename": "x.png", "container": "png_pipe", "videoCodec": "png"}) == "image"
    assert media_kind({"filename": "a.m4a", "container": "mov,mp4,m4a", "audioCodec": "aac"}) == "audio"
    assert media_kind({"filename": "a.mp4", "container": "mov,mp4", "audioCodec": "aac"}) == "audio"  # no picture
    assert media_kind({"filename": "a.mp4", "videoCodec": "h264", "audioCodec": "aac"}) == "video"
    assert media_kind({"filename": "a.avi", "container": "avi", "videoCodec": "mjpeg"}) == "video"


def test_asset_records():
    row = asset_row({"id": 3, "filename": "clip.webm", "status": "ERROR", "errorMessage": "not a media file"})
    assert row.status == "error" and row.error == "not a media file" and row.resolution == ""
    detail = asset_detail({"id": 4, "filename": "clip.mp4", "status": "READY", "duration": 10.0, "frameRate": 25,
                           "width": 1920, "height": 1080, "videoCodec": "h264", "pixFmt": "yuv420p",
                           "audioCodec": "aac", "audioChannels": 2, "audioSampleRate": 48000,
                           "container": "mov,mp4,m4a,3gp,3g2,mj2", "size": 2_500_000, "bitrate": 2_000_000,
                           "storageArea": "in", "storageKey": "demo/clip.mp4", "tags": ["a"]})
    facts = dict(detail.facts)
    assert facts["Duration"] == "00:00:10.000 · 250 frames"
    assert facts["Video"] == "h264 yuv420p · 1920×1080 · 25 fps"
    assert facts["File"] == "mp4 · 2.5 MB · 2000 kbit/s" and facts["Stored as"] == "in/demo/clip.mp4"


# ------------------------------------------------------------------ one port
def test_api_paths():
    for path in ("/graphql", "/admin", "/admin/", "/api/jobs/3/callback", "/media/in/x.mp4", "/healthz"):
        assert mount.is_api_path(path), path
    for path in ("/", "/_event", "/_upload", "/graphqlx", "/mediafoo", "/ping"):
        assert not mount.is_api_path(path), path


def test_callback_short_path_goes_to_the_api():
    for path in ("/jobs/3/callback", "/jobs/1234/callback"):
        assert mount.is_api_path(path), path
    for path in ("/jobs", "/jobs/3", "/jobs/x/callback", "/jobs/3/callback/x", "/jobsfoo/3/callback"):
        assert not mount.is_api_path(path), path


async def test_transformer_dispatches_by_prefix(monkeypatch):
    seen = []

    async def reflex_app(scope, receive, send):
        seen.append(("reflex", scope.get("path", scope["type"])))

    async def litestar(scope, receive, send):
        seen.append(("litestar", scope["path"]))

    monkeypatch.setattr(mount, "litestar_app", lambda: litestar)
    app = mount.transformer(reflex_app)
    for path in ("/", "/graphql", "/_event", "/media/out/a.mp4"):
        await app({"type": "http", "path": path}, None, None)
    await app({"type": "lifespan"}, None, None)
    assert seen == [("reflex", "/"), ("litestar", "/graphql"), ("reflex", "/_event"),
                    ("litestar", "/media/out/a.mp4"), ("reflex", "lifespan")]


async def test_transformer_answers_503_when_the_api_cannot_be_built(monkeypatch):
    sent = []

    async def send(message):
        sent.append(message)

    monkeypatch.setattr(mount, "litestar_app", lambda: None)
    monkeypatch.setattr(mount, "_failure", "ImportError: boom")
    await mount.transformer(None)({"type": "http", "path": "/graphql"}, None, send)
    assert sent[0]["status"] == 503 and b"boom" in sent[1]["body"]


# ------------------------------------------------------------------ serve()
def test_settings_travel_through_the_environment(monkeypatch, tmp_path):
    settings = Settings().with_(database_url=f"sqlite:///{tmp_path}/x.sqlite", data_dir=tmp_path / "d",
                                media_root=tmp_path / "m", host="0.0.0.0", port=8123, workers=3,
                                api_token="tok", admin_password="pw", callback_secret="cb",
                                stall_seconds=33, max_attempts=5, max_upload_bytes=1234, webhook_timeout=2.5,
                                webhook_concurrency=3, webhook_retry_base=0.2, webhook_retry_window=60.0)
    for key in SETTINGS_VARS:
        monkeypatch.delenv(key, raising=False)
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    assert Settings.from_env() == settings


def test_server_command_and_environment(monkeypatch, tmp_path):
    settings = Settings().with_(host="127.0.0.1", port=8124, api_token=None)
    monkeypatch.setenv("MPR_API_TOKEN", "stale-from-the-parent")
    monkeypatch.setenv("MPR_UI_LOGIN", "1")
    argv = command(settings)
    assert argv[1:5] == ["-m", "reflex", "run", "--env"] and "prod" in argv and "--single-port" in argv
    assert argv[argv.index("--frontend-port") + 1] == argv[argv.index("--backend-port") + 1] == "8124"
    env = server_env(settings, states_dir=tmp_path / "states")
    assert "MPR_API_TOKEN" not in env  # settings say none: the parent's stale value must not leak
    assert env["MPR_UI_LOGIN"] == "1" and env["MPR_PORT"] == "8124"
    assert env["REFLEX_CHECK_LATEST_VERSION"] == "false" and os.path.exists(env["REFLEX_BUN_PATH"])
    assert env["REFLEX_STATES_WORKDIR"] == str(tmp_path / "states")


# ------------------------------------------------------------------ GraphQL client
def test_where(monkeypatch):
    monkeypatch.setenv("MPR_HOST", "0.0.0.0")
    monkeypatch.setenv("MPR_PORT", "9001")
    assert api.endpoint() == "http://127.0.0.1:9001/graphql"


@pytest.fixture
def fake_api(monkeypatch):
    """Point ui.api at an in-process transport; yields the list of requests it received."""
    requests: list[httpx.Request] = []
    replies: dict = {}

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return replies.get("next") or httpx.Response(200, json={"data": {}})

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    monkeypatch.setattr(api, "_client", lambda: client)
    monkeypatch.setenv("MPR_API_TOKEN", "master-token-the-ui-must-not-use")
    api.use_session("tab-session")
    yield requests, replies
    api.use_session(None)


async def test_gql_acts_as_the_tab_and_raises_refusals(fake_api):
    requests, replies = fake_api
    replies["next"] = httpx.Response(200, json={"data": None, "errors": [
        {"message": "out point is past the end", "extensions": {"code": "INVALID_TRIM"}}]})
    with pytest.raises(api.ApiError) as caught:
        await api.create_job("1", "2", 0.0, 99.0, "x")
    assert caught.value.code == "INVALID_TRIM" and "past the end" in caught.value.message
    assert requests[0].headers["cookie"] == "mpr_session=tab-session"
    assert "authorization" not in requests[0].headers  # never the server's master token
    body = json.loads(requests[0].content)
    assert body["variables"]["input"] == {"sourceId": "1", "presetId": "2", "trimStart": 0.0, "trimEnd": 99.0,
                                          "outputName": "x"}
    replies["next"] = httpx.Response(401, json={"errors": [{"message": "missing or wrong API token",
                                                            "extensions": {"code": "UNAUTHENTICATED"}}]})
    with pytest.raises(api.ApiError, match="API token"):
        await api.list_presets()
    api.use_session(None)  # a tab without a session: refused here, nothing is sent (no cookie, no token)
    sent = len(requests)
    with pytest.raises(api.ApiError) as caught:
        await api.list_presets()
    assert caught.value.code == "UNAUTHENTICATED" and len(requests) == sent


async def test_upload_follows_the_multipart_request_spec(fake_api, tmp_path):
    requests, replies = fake_api
    replies["next"] = httpx.Response(200, json={"data": {"uploadAsset": {"id": "5", "status": "READY"}}})
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"0123456789")
    assert (await api.upload_asset(clip, "my clip.mp4"))["id"] == "5"
    request = requests[0]
    assert request.headers["content-type"].startswith("multipart/form-data")
    content = request.content.decode(errors="replace")
    assert '"variables": {"file": null}' in content and '{"0": ["variables.file"]}' in content
    assert 'filename="my clip.mp4"' in content and "0123456789" in content


def test_link_expiry_is_read_from_the_link():
    from ui.links import expires_at, expires_within

    assert expires_at("/media/in/a.mp4?exp=1795953600&sig=ab") == 1795953600
    assert expires_at("/media/in/a.mp4") is None and expires_at("") is None
    s3 = ("https://b.s3.amazonaws.com/k.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261128T120000Z"
          "&X-Amz-Expires=21600&X-Amz-Signature=x")
    assert expires_at(s3) == 1795867200 + 21600
    assert expires_at("https://b.s3.amazonaws.com/k.mp4?Expires=1795870000&Signature=x") == 1795870000
    assert expires_at("/media/in/a.mp4?exp=soon") is None
    assert expires_within("/media/in/a.mp4?exp=1000", 1800, now=0) and not expires_within("/media/in/a.mp4?exp=5000", 1800, now=0)
    assert not expires_within("/media/in/a.mp4", 1800, now=0)


def test_ui_status_names_are_the_graphql_enum_values():
    """The UI keeps its own status names (it reaches the backend through GraphQL only); they must be
    the committed schema's enum values, which the backend builds from backend.catalog.statuses."""
    import re
    from pathlib import Path

    from backend.catalog import statuses as backend_statuses
    from ui import statuses

    schema = (Path(__file__).resolve().parents[2] / "backend" / "api" / "graphql" / "schema.graphql").read_text()

    def enum_values(name: str) -> tuple[str, ...]:
        body = re.search(r"enum %s \{(.*?)\}" % name, schema, re.S).group(1)
        return tuple(v.lower() for v in re.findall(r"^\s*([A-Z_]+)\s*$", body, re.M))

    assert statuses.JOB_STATUSES == enum_values("JobStatus") == backend_statuses.JOB_STATUSES
    assert statuses.ASSET_STATUSES == enum_values("AssetStatus") == backend_statuses.ASSET_STATUSES
    assert set(statuses.ACTIVE) == set(backend_statuses.ACTIVE)


# ------------------------------------------------------------------ the sequence track
def test_sequence_clip_rows_are_proportional_and_labelled():
    from ui.state.sequence import clip_rows, frames_text

    rows = clip_rows({"clips": [
        {"sourceId": "3", "start": 1.0, "end": 2.5, "source": {"filename": "a.mp4", "frameRate": 30}},
        {"sourceId": "9", "start": 0.0, "end": 0.5, "source": None},
    ]})
    assert [(r.source_id, r.name, r.grow) for r in rows] == [("3", "a.mp4", "1.500"), ("9", "asset 9", "0.500")]
    assert rows[0].label == "a.mp4 · 00:00:01.000–00:00:02.500"
    assert clip_rows({"clips": []}) == []
    assert frames_text(rows) == "60 frames at 30 fps"  # 45 + 15
    assert frames_text([]) == ""
    tiled = clip_rows({"clips": [{"sourceId": "1", "start": 5.0, "end": 6.0, "source": {
        "filename": "b.mp4", "duration": 10.0, "filmstripUrl": "/media/s.webp", "filmstripFrames": 20,
        "width": 640, "height": 360}}]})[0]
    assert (tiled.thumb, tiled.thumb_size, tiled.thumb_pos) == ("url(/media/s.webp)", "1200px 34px", "-600px 0px")
    assert rows[0].thumb == "none"  # no filmstrip: the plain box


# ------------------------------------------------------------------ webhooks dialog
async def test_webhook_calls_and_records(fake_api):
    from ui.models import delivery_row, webhook_row

    requests, replies = fake_api
    replies["next"] = httpx.Response(200, json={"data": {"redeliverWebhook": {"id": "9"}}})
    assert (await api.redeliver_webhook("4"))["id"] == "9"
    body = json.loads(requests[-1].content)
    assert "redeliverWebhook(deliveryId: $id)" in body["query"] and body["variables"] == {"id": "4"}
    replies["next"] = httpx.Response(200, json={"data": {"webhookDeliveries": {"nodes": []}}})
    assert await api.webhook_deliveries("2", first=5) == []
    assert json.loads(requests[-1].content)["variables"] == {"id": "2", "first": 5}

    assert webhook_row({"id": 1, "url": "http://x/", "eventTypes": [], "active": True}).events_text == "all events"
    row = delivery_row({"id": 3, "eventType": "job.failed", "status": "PENDING", "attempts": 2, "responseCode": 503,
                        "latencyMs": 12, "createdAt": "2026-11-30T17:00:00+00:00",
                        "nextAttemptAt": "2026-11-30T17:00:20+00:00", "redeliveryOf": "1", "error": "HTTP 503"})
    assert row.status == "pending" and row.summary == "2 attempts · HTTP 503 · 12 ms · replay of #1"
    assert row.when_text == "2026-11-30 17:00:00 · next try 2026-11-30 17:00:20"
    done = delivery_row({"id": 4, "status": "DELIVERED", "attempts": 1, "createdAt": None})
    assert done.summary == "1 attempt" and done.when_text == ""


def test_in_out_entry_forms():
    from ui.timecode import parse_entry

    assert parse_entry("00:00:03.500", 25) == 3.5  # the usual form still works
    assert parse_entry("00:00:03:10", 25) == 3.4  # SMPTE: frame 10 at 25 fps
    assert parse_entry("01:00:00:00", 25) == 3600
    assert parse_entry("150f", 30) == 5.0 and parse_entry("150 F", 25) == 6.0
    assert parse_entry("+2s", 25, current=1.0) == 3.0 and parse_entry("+1.5", 25, current=1.0) == 2.5
    assert parse_entry("-10f", 25, current=1.0) == 0.6
    # drop-frame (29.97): 00:01:00;02 is the 1,800th frame (00;00 and 00;01 of minute 1 do not exist)
    ntsc = 30000 / 1001
    assert abs(parse_entry("00:01:00;02", ntsc) - 1800 / ntsc) < 1e-9
    assert abs(parse_entry("00:10:00;00", ntsc) - 17982 / ntsc) < 1e-9  # every tenth minute keeps its labels
    assert abs(parse_entry("00:01:00:02", ntsc) - 1802 / ntsc) < 1e-9  # ':' counts every label
    for bad, fps, why in (("00:00:01:25", 25, "does not exist"), ("00:01:00;00", ntsc, "skipped"),
                          ("00:00:01:02", None, "frame rate"), ("12f", 0, "frame rate"),
                          ("soon", 25, "HH:MM:SS:FF"), ("00:61:00:00", 25, "below 60")):
        with pytest.raises(ValueError, match=why):
            parse_entry(bad, fps)


def test_every_listed_shortcut_has_a_handler():
    """ui/shortcuts.py (hints bar, cheat sheet) and the key maps of timeline.js and sequence_track.js
    name the same keys."""
    from pathlib import Path

    from ui.shortcuts import all_shortcuts

    components = Path(__file__).parents[2] / "ui" / "components"
    js = (components / "timeline.js").read_text() + (components / "sequence_track.js").read_text()
    keys = {k for keys, _, _ in all_shortcuts() for k in keys.replace("+ ", "").split()}
    handled = {'" "': "Space", '"k"': "K", '"j"': "J", '"l"': "L", '"ArrowLeft"': "←", '"ArrowRight"': "→",
               '"ArrowUp"': "↑", '"ArrowDown"': "↓", '"Home"': "Home", '"End"': "End", '"i"': "I", '"o"': "O",
               '"x"': "X", '"KeyX"': "Alt+X", '"?"': "?", '"+"': "+", '"-"': "−", "e.shiftKey ? seek(m.inS)": "Shift+I",
               "e.shiftKey ? seek(m.outS)": "Shift+O", "kHeld ? step(dir)": "K", '"e": appendToSequence': "E",
               '"sequence-undo"': "Ctrl+Z", '"sequence-redo"': "Ctrl+Shift+Z",
               '"Escape": () => stopPreview(true)': "Esc"}
    found = {label for needle, label in handled.items() if needle in js}
    missing = keys - found - {"/", "K+J", "K+L"}
    assert not missing, missing


def test_library_view_round_trips_through_the_query_string():
    from urllib.parse import parse_qs

    from ui import view_query

    assert view_query.write("", "all", "in", "date_desc") == ""  # defaults stay out of the URL
    query = view_query.write("bars & co", "ready", "all", "size_desc")
    params = {k: v[0] for k, v in parse_qs(query[1:]).items()}
    assert view_query.read(params) == {"q": "bars & co", "status": "ready", "area": "all", "sort": "size_desc"}
    # unknown values and keys are dropped, a long search is cut, lists (repeated keys) take the first
    assert view_query.read({"sort": "colour", "status": "DROP TABLE", "area": ["out", "in"], "x": "1",
                            "q": "a" * 500}) == {"area": "out", "q": "a" * view_query.MAX_SEARCH}
    assert view_query.read(None) == {}
    js = view_query.replace_state_js("?q=%27%29%3Balert%281%29")
    assert js.endswith('"?q=%27%29%3Balert%281%29")') and "replaceState" in js
    assert set(view_query.SORTS) == {s.lower() for s in ("DATE_DESC", "DATE_ASC", "NAME_ASC", "NAME_DESC",
                                                           "DURATION_ASC", "DURATION_DESC", "SIZE_ASC", "SIZE_DESC")}
    from backend.api.graphql.inputs import AssetSort
    assert set(view_query.SORTS) == {s.value for s in AssetSort}


def test_smpte_readout_with_drop_frame():
    """The readout's SMPTE labels: drop-frame (;) at 29.97 and 59.94 only, and every frame's label
    reads back as the same frame (the in/out fields accept what the readout shows)."""
    from ui.timecode import drop_frame, format_smpte, frame_to_smpte, parse_entry, smpte_to_frame

    ntsc, ntsc60 = 30000 / 1001, 60000 / 1001
    assert drop_frame(ntsc) and drop_frame(29.97003) and drop_frame(ntsc60)
    assert not any(drop_frame(r) for r in (24, 25, 30, 50, 60, 23.976, None, 0))
    # 29.97 DF: minute 1 starts at ;02, every tenth minute keeps ;00
    assert frame_to_smpte(1799, ntsc) == "00:00:59;29"
    assert frame_to_smpte(1800, ntsc) == "00:01:00;02"
    assert frame_to_smpte(17981, ntsc) == "00:09:59;29"
    assert frame_to_smpte(17982, ntsc) == "00:10:00;00"
    assert frame_to_smpte(17982 + 1800, ntsc) == "00:11:00;02"
    assert frame_to_smpte(107892, ntsc) == "01:00:00;00"  # an hour of labels is 107,892 frames
    # 59.94 DF drops four labels a minute
    assert frame_to_smpte(3599, ntsc60) == "00:00:59;59"
    assert frame_to_smpte(3600, ntsc60) == "00:01:00;04"
    assert frame_to_smpte(35964, ntsc60) == "00:10:00;00"
    # non-drop rates count every label
    assert frame_to_smpte(1800, 30) == "00:01:00:00" and frame_to_smpte(90, 25) == "00:00:03:15"
    assert format_smpte(3.4, 25) == "00:00:03:10" and format_smpte(2.0, None) == "00:00:02.000"
    assert format_smpte(1800 / ntsc, ntsc) == "00:01:00;02"
    # round trips: label → frame → label, and entry of the label → the frame's time
    for fps in (ntsc, ntsc60):
        for frame in [*range(0, 4000, 7), *range(17970, 18010), 35960, 35964, 35968, 107891, 107892, 215784]:
            label = frame_to_smpte(frame, fps)
            h, m, rest = label.split(":")
            s, f = rest.split(";")
            assert smpte_to_frame(int(h), int(m), int(s), int(f), fps, True) == frame, label
            assert round(parse_entry(label, fps) * fps) == frame, label
    for fps in (24, 25, 30, 50):
        for frame in range(0, 9000, 13):
            assert round(parse_entry(frame_to_smpte(frame, fps), fps) * fps) == frame
    with pytest.raises(ValueError, match="29.97 and 59.94"):
        parse_entry("00:00:01;02", 25)  # drop-frame labels at a rate that drops none
    with pytest.raises(ValueError, match="skipped"):
        parse_entry("00:01:00;03", ntsc60)  # ;00–;03 do not exist at 59.94
