"""GET /metrics: Prometheus text exposition (format 0.0.4) for scraping.

From the catalog (so every web worker reports the same figures):
  mpr_jobs{status}                 gauge   jobs per status (every status listed, 0 included)
  mpr_queue_depth                  gauge   jobs waiting to run (status queued)
  mpr_encode_seconds_total         gauge   sum of finished_at - started_at over succeeded jobs
  mpr_bytes_in_total               gauge   bytes of registered input assets
  mpr_bytes_out_total              gauge   bytes of registered output assets
  mpr_assets{area}                 gauge   registered assets per storage area
These are read from tables, so they fall when rows are deleted: they are typed gauge (rate() over a
gauge that only rises works; a drop is a deletion, not a restart).
From this process:
  mpr_callback_failures_total{code} counter refused job callbacks (401 bad signature, 400, 404)
  mpr_database_up                   gauge   1 if the catalog queries above answered
  mpr_executor_alive                gauge   1 if this process runs a live job executor (absent if none)
If the database does not answer within DB_TIMEOUT, the catalog figures are left out and
mpr_database_up is 0: the scrape itself still succeeds.
"""
from __future__ import annotations

import asyncio
import logging

from litestar import Request, Response, get

from backend.api.http.counters import CALLBACK_FAILURES
from backend.api.system import database_kind
from backend.catalog.statuses import JOB_STATUSES, QUEUED, SUCCEEDED
from backend.catalog.tables import TranscodeJob

log = logging.getLogger("mpr.api.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4"  # Litestar adds "; charset=utf-8"
DB_TIMEOUT = 5.0

_JOBS_SQL = "SELECT status, COUNT(*) AS n FROM transcode_job GROUP BY status"
_ASSETS_SQL = ("SELECT storage_area AS area, COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes "
               "FROM media_asset GROUP BY storage_area")
_ENCODE_WHERE = f"WHERE status = '{SUCCEEDED}' AND started_at IS NOT NULL AND finished_at > started_at"
_ENCODE_SQL = {
    "postgresql": f"SELECT COALESCE(SUM(EXTRACT(EPOCH FROM (finished_at - started_at))), 0) AS s "
                  f"FROM transcode_job {_ENCODE_WHERE}",
    "sqlite": f"SELECT COALESCE(SUM((julianday(finished_at) - julianday(started_at)) * 86400.0), 0) AS s "
              f"FROM transcode_job {_ENCODE_WHERE}",
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


class Exposition:
    """Builds the text: one HELP/TYPE header per metric, then its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def metric(self, name: str, kind: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label_text = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{label_text}}} {_number(value)}" if label_text else f"{name} {_number(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


async def catalog_figures() -> dict:
    """The catalog's figures: job counts per status, encode seconds, asset count and bytes per area."""
    jobs = {status: 0 for status in JOB_STATUSES}
    for row in await TranscodeJob.raw(_JOBS_SQL):
        jobs[row["status"]] = int(row["n"])
    encode = await TranscodeJob.raw(_ENCODE_SQL[database_kind()])
    areas = {"in": (0, 0), "out": (0, 0)}
    for row in await TranscodeJob.raw(_ASSETS_SQL):
        areas[row["area"]] = (int(row["n"]), int(row["bytes"]))
    return {"jobs": jobs, "encode_seconds": float(encode[0]["s"] or 0.0) if encode else 0.0, "areas": areas}


async def render(state) -> str:
    out = Exposition()
    try:
        figures = await asyncio.wait_for(catalog_figures(), DB_TIMEOUT)
    except Exception as exc:  # the scrape still answers; mpr_database_up says why figures are missing
        log.warning("metrics: catalog unavailable: %s", type(exc).__name__)
        figures = None
    if figures is not None:
        out.metric("mpr_jobs", "gauge", "Jobs in the catalog by status.",
                   [({"status": s}, n) for s, n in figures["jobs"].items()])
        out.metric("mpr_queue_depth", "gauge", "Jobs waiting to run (status queued).",
                   [({}, figures["jobs"].get(QUEUED, 0))])
        out.metric("mpr_encode_seconds_total", "gauge",
                   "Seconds from start to finish summed over succeeded jobs.", [({}, figures["encode_seconds"])])
        out.metric("mpr_bytes_in_total", "gauge", "Bytes of registered input assets.",
                   [({}, figures["areas"]["in"][1])])
        out.metric("mpr_bytes_out_total", "gauge", "Bytes of registered output assets.",
                   [({}, figures["areas"]["out"][1])])
        out.metric("mpr_assets", "gauge", "Registered assets by storage area.",
                   [({"area": a}, n) for a, (n, _) in sorted(figures["areas"].items())])
    failures = CALLBACK_FAILURES.snapshot()
    out.metric("mpr_callback_failures_total", "counter",
               "Job callbacks refused by this process, by HTTP status.",
               [({"code": code}, n) for code, n in sorted(failures.items())] or [({"code": "401"}, 0)])
    out.metric("mpr_database_up", "gauge", "1 if the catalog answered this scrape.", [({}, 1 if figures else 0)])
    runtime = state.runtime
    if runtime is not None:
        out.metric("mpr_executor_alive", "gauge", "1 if this process's job executor loops are running.",
                   [({"executor": runtime.settings.executor}, 1 if runtime.alive else 0)])
    return out.text()


@get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(await render(request.app.state), media_type=CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})
