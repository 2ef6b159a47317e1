"""Status names, defined once for every layer that stores, moves or shows them.

A job: queued → running → succeeded | failed | cancelled (the legal moves are in
`backend.jobs.lifecycle`). An asset: pending (registered, not probed yet) → ready | error; missing when its file
went away (the watched input folder saw it deleted) — it comes back when the file does.
The GraphQL enums `JobStatus` / `AssetStatus` are built from these tuples, in this order.
"""
from __future__ import annotations

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
JOB_STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
ACTIVE = (QUEUED, RUNNING)  # a job that holds its source, output key and a worker

PENDING, READY, ERROR, MISSING = "pending", "ready", "error", "missing"
ASSET_STATUSES = (PENDING, READY, ERROR, MISSING)
