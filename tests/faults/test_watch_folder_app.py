"""The watched input folder in a real `mpr api` process (MPR_WATCH_INPUT on, the default 2 s
settle window), driven only through files and GraphQL — no scan call:

- a file copied in slowly (written in pieces over 3 s) becomes one asset, registered after it is
  complete, and a matching rule's job runs to `succeeded`;
- an rsync-style copy (a dot-temp name, then a rename) registers the final name only;
- a deleted file's asset becomes `missing`.
"""
from __future__ import annotations

import asyncio
import os
import time

import pytest

from mpr_app import finish_app, start_app

pytestmark = pytest.mark.slow
WAIT = 90.0  # bound of each wait (a loaded machine), never a timing assertion

ASSETS = "{ assets(first: 50, area: \"in\") { nodes { id storageKey status size errorMessage } } }"
CREATE_RULE = """mutation($input: RuleInput!) { createRule(input: $input) { id } }"""
RULES = "{ rules { id assetsMatched jobsMade } }"
JOBS = "{ jobs(first: 50) { nodes { id status source { id } outputAsset { storageKey } } } }"


@pytest.fixture
async def app(tmp_path):
    app = await start_app(tmp_path, "postgres", MPR_WATCH_INPUT="1")
    try:
        yield app
    finally:
        await finish_app(app)


async def assets(app) -> dict[str, dict]:
    return {a["storageKey"]: a for a in (await app.gql(ASSETS))["assets"]["nodes"]}


async def wait_for(check, what: str, app):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {WAIT} s: {what}\n{app.log()}")


async def test_files_dropped_in_are_registered_once_complete_and_rules_run(app, fault_clips):
    preset = (await app.preset_ids())["Trim only (stream copy)"]
    rule = (await app.gql(CREATE_RULE, {"input": {"name": "copy everything", "presetId": preset}}))["createRule"]
    data = fault_clips["tiny"].read_bytes()

    # written in pieces over 3 s: nothing is registered while the file grows
    path = app.layout.in_root / "slow.mp4"
    pieces = 6
    step = len(data) // pieces + 1
    seen_while_writing = []
    with open(path, "wb") as f:
        for i in range(0, len(data), step):
            f.write(data[i:i + step])
            f.flush()
            await asyncio.sleep(3.0 / pieces)
            seen_while_writing.append(dict(await assets(app)).get("slow.mp4"))
    assert seen_while_writing[:-1] == [None] * (len(seen_while_writing) - 1)

    async def slow_ready():
        a = (await assets(app)).get("slow.mp4")
        return a if a and a["status"] == "READY" else None

    asset = await wait_for(slow_ready, "slow.mp4 ready", app)
    assert asset["size"] == len(data) and list(await assets(app)) == ["slow.mp4"]

    async def the_job():
        nodes = (await app.gql(JOBS))["jobs"]["nodes"]
        return nodes[0] if nodes else None

    job = await wait_for(the_job, "the rule's job", app)
    assert job["source"]["id"] == asset["id"]
    done = await app.wait_job(job["id"])
    assert done["status"] == "SUCCEEDED", done["error"]
    assert done["outputAsset"]["storageKey"] == "slow-trim-only-stream-copy.mp4"
    assert (await app.gql(RULES))["rules"] == [{"id": rule["id"], "assetsMatched": 1, "jobsMade": 1}]

    # rsync: a dot-temp name written, then renamed to the final name
    temp = app.layout.in_root / ".synced.mp4.a1B2c3"
    temp.write_bytes(data)
    os.rename(temp, app.layout.in_root / "synced.mp4")

    async def synced_ready():
        a = (await assets(app)).get("synced.mp4")
        return a if a and a["status"] == "READY" else None

    await wait_for(synced_ready, "synced.mp4 ready", app)
    assert sorted(await assets(app)) == ["slow.mp4", "synced.mp4"]

    # a delete marks the asset missing (its job and output stay)
    path.unlink()

    async def slow_missing():
        return (await assets(app))["slow.mp4"]["status"] == "MISSING"

    await wait_for(slow_missing, "slow.mp4 missing", app)
    assert (await app.job(job["id"]))["status"] == "SUCCEEDED"
