"""Status names as the UI sees them: the values of the GraphQL enums `JobStatus` and `AssetStatus`,
lowercased (ui/models.py lowercases what the API sends). The UI's one copy: it talks GraphQL only,
so it does not import the backend's `backend.catalog.statuses`; a test compares the two lists with
the committed schema.
"""
from __future__ import annotations

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
JOB_STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
ACTIVE = (QUEUED, RUNNING)
RETRYABLE = (FAILED, CANCELLED)
TERMINAL = (SUCCEEDED, FAILED, CANCELLED)  # finished: deleteJob may forget them

PENDING, READY, ERROR, MISSING = "pending", "ready", "error", "missing"
ASSET_STATUSES = (PENDING, READY, ERROR, MISSING)
