"""The UI's GraphQL client: the ONLY module of ui/ that knows where the API is and how to call it.

The Reflex backend (states) calls these coroutines; they POST to http://<host>:<port>/graphql on
the same server AS THE PERSON in the browser tab: `ui.auth.SessionMiddleware` puts the tab's
session secret (the HttpOnly `mpr_session` cookie its websocket was opened with) into a context
variable before each event, and every call here sends it. The UI process holds no token of its
own, so a tab without a session can do nothing the API would not let anonymous callers do
(nothing). Results come back as plain dicts in the API's camelCase; refusals raise `ApiError`
with the API's message and code.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import mimetypes
import os
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, BinaryIO

import httpx

logging.getLogger("httpx").setLevel(logging.WARNING)  # the poller's requests are not news
_WILDCARD_HOSTS = {"", "0.0.0.0", "::", "[::]"}
_clients: dict[int, httpx.AsyncClient] = {}
SESSION_COOKIE = "mpr_session"
_session: contextvars.ContextVar[str | None] = contextvars.ContextVar("mpr_ui_session", default=None)


class ApiError(Exception):
    """The API refused or failed; `message` is meant for a person, `code` for code."""

    def __init__(self, message: str, code: str = "", field: str = ""):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


# ------------------------------------------------------------------ where and who
def base_url() -> str:
    host = os.environ.get("MPR_HOST", "127.0.0.1").strip()
    if host in _WILDCARD_HOSTS or host == "localhost":
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = os.environ.get("MPR_PORT", "8000").strip() or "8000"
    return f"http://{host}:{port}"


def endpoint() -> str:
    return base_url() + "/graphql"


def session_from_cookies(cookie_header: str | None) -> str | None:
    """The session secret in a Cookie header, else None."""
    if not cookie_header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except Exception:
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def use_session(secret: str | None) -> None:
    """Act as the person with this session for the rest of the current event (None: as nobody)."""
    _session.set(secret or None)


def _client() -> httpx.AsyncClient:
    loop_id = id(asyncio.get_running_loop())
    client = _clients.get(loop_id)
    if client is None or client.is_closed:
        client = _clients[loop_id] = httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=5.0),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )
    return client


def _headers() -> dict[str, str]:
    secret = _session.get()
    return {"Cookie": f"{SESSION_COOKIE}={secret}"} if secret else {}


def _unwrap(response: httpx.Response) -> dict:
    try:
        payload = response.json()
    except ValueError:
        raise ApiError(f"The API answered HTTP {response.status_code} without JSON.", "HTTP_ERROR") from None
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if errors:
        first = errors[0]
        ext = first.get("extensions") or {}
        raise ApiError(first.get("message", "Unknown error"), ext.get("code", ""), ext.get("field", ""))
    if response.status_code >= 400:
        raise ApiError(f"The API answered HTTP {response.status_code}.", "HTTP_ERROR")
    return payload.get("data") or {}


async def gql(query: str, variables: dict[str, Any] | None = None, timeout: float | None = None) -> dict:
    """Run one GraphQL operation and return its `data`; raises ApiError.

    A tab without a session has no identity the API would accept: it is answered here, as the API
    would answer it (UNAUTHENTICATED), and no request leaves the UI process."""
    if not _session.get():
        raise ApiError("Sign in to use MPR.", "UNAUTHENTICATED")
    try:
        extra = {"timeout": httpx.Timeout(timeout, connect=5.0)} if timeout else {}
        response = await _client().post(
            endpoint(), json={"query": query, "variables": variables or {}}, headers=_headers(), **extra
        )
    except httpx.HTTPError as exc:
        raise ApiError(f"The API is not reachable ({type(exc).__name__}).", "UNREACHABLE") from exc
    return _unwrap(response)


# ------------------------------------------------------------------ fragments
ASSET_ROW = """id filename storageArea status errorMessage duration width height frameRate
  videoCodec audioCodec posterUrl"""
ASSET_FULL = """id filename storageArea storageKey size status errorMessage duration container
  videoCodec audioCodec width height frameRate bitrate audioChannels audioSampleRate rotation
  pixFmt tags comments filmstripFrames createdAt mediaUrl posterUrl filmstripUrl waveformUrl
  sceneCuts keyframes blackRanges { start end } silenceRanges { start end }
  loudness { integrated range truePeak }"""
PRESET = """id name description builtin kind container videoCodec audioCodec maxWidth maxHeight
  summary"""
JOB_ROW = """id status progress fps speed etaSeconds attempt maxAttempts error trimStart trimEnd
  accurateTrim outputFilename createdAt startedAt finishedAt outputUrl downloadUrl outputDeleted
  source { id filename } preset { id name kind } presetSnapshot outputAsset { id }
  playbackUrl storyboardUrl templateSnapshot"""
TEMPLATE = "id name description builtin packaging outputs { role summary }"


# ------------------------------------------------------------------ reads
async def list_assets(search: str = "", status: str = "", first: int = 100, area: str = ""
                      ) -> tuple[list[dict], int]:
    rows, total, _ = await list_assets_page(search, status, first, area)
    return rows, total


async def list_assets_page(search: str = "", status: str = "", first: int = 100, area: str = "",
                           after: str | None = None, sort: str = "") -> tuple[list[dict], int, str | None]:
    """(assets, total matching, cursor to ask for the next page with, or None at the end); `sort` is
    an AssetSort value in lower case ("name_asc"; "" is the API's default, newest first)."""
    data = await gql(
        f"""query($first: Int, $after: String, $search: String, $status: [AssetStatus!], $area: String,
                  $sort: AssetSort!) {{
          assets(first: $first, after: $after, search: $search, status: $status, area: $area, sort: $sort) {{
            totalCount pageInfo {{ endCursor hasNextPage }} nodes {{ {ASSET_ROW} }} }}
        }}""",
        {"first": first, "after": after, "search": search or None,
         "status": [status.upper()] if status else None, "area": area or None,
         "sort": (sort or "date_desc").upper()},
    )
    conn = data["assets"]
    page = conn.get("pageInfo") or {}
    return conn["nodes"], conn["totalCount"], page.get("endCursor") if page.get("hasNextPage") else None


API_PAGE = 100  # the most rows one connection page gives (backend MAX_PAGE)


async def list_assets_upto(search: str, status: str, area: str, want: int, sort: str = "",
                           after: str | None = None) -> tuple[list[dict], int, str | None]:
    """The first `want` matching assets after the cursor `after` (from the top without one), page
    after page of API_PAGE; the total and the cursor after them."""
    rows, total, cursor = await list_assets_page(search, status, min(want, API_PAGE), area, after=after, sort=sort)
    while cursor and len(rows) < want:
        more, total, cursor = await list_assets_page(search, status, min(want - len(rows), API_PAGE), area,
                                                     after=cursor, sort=sort)
        rows += more
    return rows, total, cursor


async def get_asset(asset_id: str) -> dict | None:
    data = await gql(f"query($id: ID!) {{ asset(id: $id) {{ {ASSET_FULL} }} }}", {"id": asset_id})
    return data.get("asset")


async def list_presets() -> list[dict]:
    data = await gql(f"{{ presets {{ {PRESET} }} }}")
    return data["presets"]


async def list_templates() -> list[dict]:
    data = await gql(f"{{ templates {{ {TEMPLATE} }} }}")
    return data["templates"]


RULE = "id name enabled priority presetId templateId outputPattern assetsMatched jobsMade"


async def list_rules() -> list[dict]:
    """The automation rules, highest priority first, with what each has done (docs/automation.md)."""
    data = await gql(f"{{ rules {{ {RULE} }} }}")
    return data["rules"]


async def list_jobs(first: int = 25, after: str | None = None, status: list[str] | None = None
                    ) -> tuple[list[dict], int, str | None, bool]:
    """(jobs, total matching, cursor after this page, whether a next page exists)."""
    data = await gql(
        f"""query($first: Int, $after: String, $status: [JobStatus!]) {{
          jobs(first: $first, after: $after, status: $status) {{
            totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ {JOB_ROW} }} }}
        }}""",
        {"first": first, "after": after, "status": [s.upper() for s in status] if status else None},
    )
    conn = data["jobs"]
    return conn["nodes"], conn["totalCount"], conn["pageInfo"]["endCursor"], conn["pageInfo"]["hasNextPage"]


async def system_status() -> dict:
    data = await gql("""{ systemStatus { jobCounts { status count } assetCount executor workers
                          executorAlive storage database } }""")
    return data["systemStatus"]


# ------------------------------------------------------------------ writes
MEDIA_SCAN = "id state total probed added updated unchanged errors skipped error fileErrors { key message }"


async def start_scan() -> dict:
    """Start a folder scan in the background (or join the running one); returns at once. A scan of
    hundreds of files takes minutes: `media_scan` tells how far it is, no request waits on it."""
    data = await gql(f"mutation {{ startMediaScan {{ {MEDIA_SCAN} }} }}")
    return data["startMediaScan"]


async def media_scan(scan_id: str) -> dict | None:
    """A background scan's progress and per-file errors; None when the server no longer knows it."""
    data = await gql(f"query($id: ID!) {{ mediaScan(id: $id) {{ {MEDIA_SCAN} }} }}", {"id": scan_id})
    return data["mediaScan"]


async def create_job(source_id: str, preset_id: str, trim_start: float | None, trim_end: float | None,
                     output_name: str, trim_mode: str | None = None, template_id: str = "") -> dict:
    """One output with `preset_id`, or (when `template_id` is given) every output of that template.
    `trim_mode`: KEYFRAME | SMART | ACCURATE, or None for the preset's default."""
    which = {"templateId": template_id} if template_id else {"presetId": preset_id}
    fields = {"sourceId": source_id, **which, "trimStart": trim_start,
              "trimEnd": trim_end, "outputName": output_name or None}
    if trim_mode and not template_id:
        fields["trimMode"] = trim_mode
    data = await gql(
        f"""mutation($input: CreateJobInput!) {{ createJob(input: $input) {{ {JOB_ROW} }} }}""",
        {"input": fields},
    )
    return data["createJob"]


async def trim_plan(source_id: str, start: float | None, end: float | None, mode: str) -> dict:
    """What cutting the source in `mode` will do (computed by the server from its keyframes)."""
    data = await gql(
        """query($id: ID!, $start: Float, $end: Float, $mode: TrimMode) {
             trimPlan(sourceId: $id, start: $start, end: $end, mode: $mode) {
               mode description headSeconds tailSeconds copySeconds fallback } }""",
        {"id": source_id, "start": start, "end": end, "mode": mode},
    )
    return data["trimPlan"]


async def cancel_job(job_id: str) -> dict:
    data = await gql(f"mutation($id: ID!) {{ cancelJob(id: $id) {{ {JOB_ROW} }} }}", {"id": job_id})
    return data["cancelJob"]


async def retry_job(job_id: str) -> dict:
    data = await gql(f"mutation($id: ID!) {{ retryJob(id: $id) {{ {JOB_ROW} }} }}", {"id": job_id})
    return data["retryJob"]


async def delete_job(job_id: str) -> dict:
    data = await gql("mutation($id: ID!) { deleteJob(id: $id) { ids count } }", {"id": job_id})
    return data["deleteJob"]


async def delete_finished_jobs(statuses: list[str] | None = None) -> dict:
    data = await gql("mutation($s: [JobStatus!]) { deleteFinishedJobs(statuses: $s) { ids count } }",
                     {"s": [s.upper() for s in statuses] if statuses else None})
    return data["deleteFinishedJobs"]


async def update_asset(asset_id: str, *, filename: str | None = None, tags: list[str] | None = None,
                       comments: str | None = None) -> dict:
    changes = {k: v for k, v in {"filename": filename, "tags": tags, "comments": comments}.items()
               if v is not None}
    data = await gql(
        f"""mutation($id: ID!, $input: UpdateAssetRequest!) {{
              updateAsset(id: $id, input: $input) {{ {ASSET_FULL} }} }}""",
        {"id": asset_id, "input": changes},
    )
    return data["updateAsset"]


async def delete_asset(asset_id: str, delete_file: bool = False) -> dict:
    data = await gql(
        """mutation($id: ID!, $f: Boolean!) {
             deleteAsset(id: $id, deleteFile: $f) { id deleted removedFiles removedJobs message } }""",
        {"id": asset_id, "f": delete_file},
    )
    return data["deleteAsset"]


async def upload_asset(source: Path | BinaryIO, filename: str) -> dict:
    """uploadAsset over the GraphQL multipart request spec, streaming a path or an open file."""
    operations = {
        "query": f"mutation($file: Upload!) {{ uploadAsset(file: $file) {{ {ASSET_FULL} }} }}",
        "variables": {"file": None},
    }
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    with contextlib.ExitStack() as stack:
        fh = stack.enter_context(open(source, "rb")) if isinstance(source, (str, Path)) else source
        try:
            response = await _client().post(
                endpoint(),
                data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
                files={"0": (filename, fh, content_type)},
                headers=_headers(),
                timeout=httpx.Timeout(600.0, connect=5.0),
            )
        except httpx.HTTPError as exc:
            raise ApiError(f"The upload did not reach the API ({type(exc).__name__}).", "UNREACHABLE") from exc
    return _unwrap(response)["uploadAsset"]


async def me() -> dict:
    """Who this tab is signed in as: {"kind", "role", "user": {"username"}}; raises ApiError
    (code UNAUTHENTICATED) without a valid session."""
    data = await gql("{ me { kind role user { username } } }")
    return data["me"]


# ------------------------------------------------------------------ sequences
SEQUENCE = ("id name duration clips { sourceId start end source { filename duration frameRate filmstripUrl "
            "filmstripFrames width height mediaUrl } } streamCopy { possible reasons }")


async def list_sequences() -> list[dict]:
    return (await gql(f"{{ sequences {{ {SEQUENCE} }} }}"))["sequences"]


async def create_sequence(name: str, clips: list[dict]) -> dict:
    data = await gql(f"""mutation($name: String!, $clips: [SequenceClipInput!]) {{
      createSequence(name: $name, clips: $clips) {{ {SEQUENCE} }} }}""", {"name": name, "clips": clips})
    return data["createSequence"]


async def update_sequence(sequence_id: str, *, clips: list[dict] | None = None, name: str | None = None) -> dict:
    data = await gql(f"""mutation($id: ID!, $clips: [SequenceClipInput!], $name: String) {{
      updateSequence(id: $id, clips: $clips, name: $name) {{ {SEQUENCE} }} }}""",
                     {"id": sequence_id, "clips": clips, "name": name})
    return data["updateSequence"]


async def sequence_names() -> list[dict]:
    """[{id, name}] of every saved sequence, most recently changed first."""
    return (await gql("{ sequences { id name } }"))["sequences"]


async def get_sequence(sequence_id: str) -> dict | None:
    return (await gql(f"query($id: ID!) {{ sequence(id: $id) {{ {SEQUENCE} }} }}", {"id": sequence_id}))["sequence"]


async def duplicate_sequence(sequence_id: str) -> dict:
    data = await gql(f"mutation($id: ID!) {{ duplicateSequence(id: $id) {{ {SEQUENCE} }} }}", {"id": sequence_id})
    return data["duplicateSequence"]


async def delete_sequence(sequence_id: str) -> None:
    await gql("mutation($id: ID!) { deleteSequence(id: $id) { deleted } }", {"id": sequence_id})


async def render_sequence(sequence_id: str, preset_id: str | None = None, output_name: str | None = None,
                          template_id: str | None = None) -> dict:
    """One job rendering the sequence: with a preset (one file) or an output template (its outputs)."""
    data = await gql("""mutation($id: ID!, $preset: ID, $template: ID, $name: String) {
      renderSequence(id: $id, presetId: $preset, templateId: $template, outputName: $name) { id outputFilename } }""",
                     {"id": sequence_id, "preset": preset_id or None, "template": template_id or None,
                      "name": output_name or None})
    return data["renderSequence"]


# ------------------------------------------------------------------ webhooks (admin)
WEBHOOK = "id url eventTypes description active createdAt"
DELIVERY = """id eventId eventType subject status attempts responseCode latencyMs error lastAttemptAt
  nextAttemptAt createdAt redeliveryOf"""


async def list_webhooks() -> list[dict]:
    data = await gql(f"{{ webhooks {{ {WEBHOOK} }} }}")
    return data["webhooks"]


async def webhook_deliveries(webhook_id: str, first: int = 20) -> list[dict]:
    """The newest `first` deliveries of one endpoint."""
    data = await gql(f"""query($id: ID!, $first: Int) {{
      webhookDeliveries(webhookId: $id, first: $first) {{ nodes {{ {DELIVERY} }} }} }}""",
                     {"id": webhook_id, "first": first})
    return data["webhookDeliveries"]["nodes"]


async def redeliver_webhook(delivery_id: str) -> dict:
    data = await gql(f"mutation($id: ID!) {{ redeliverWebhook(deliveryId: $id) {{ {DELIVERY} }} }}",
                     {"id": delivery_id})
    return data["redeliverWebhook"]
