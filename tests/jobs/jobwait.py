"""Polling helper shared by the job tests: wait until a job reaches one of some statuses."""
from __future__ import annotations

import asyncio

from backend.catalog.tables import TranscodeJob
from backend.jobs import lifecycle


async def wait_status(job_id, statuses=lifecycle.TERMINAL, timeout=90.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        row = await lifecycle.load_job(job_id)
        if row["status"] in statuses:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} still {row['status']} ({row['error']})")
