"""startMediaScan / mediaScan (issue 23): a folder scan runs in the background and reports "n of N
probed" while it runs, with each unusable file's error; a second start while one runs joins it."""
from __future__ import annotations

import asyncio

START = 'mutation { startMediaScan { id state total probed } }'
POLL = ('query($id: ID!) { mediaScan(id: $id) { id state total probed added updated unchanged errors skipped '
        'error fileErrors { key message assetId } } }')


async def wait_done(gql, scan_id: str) -> tuple[dict, list[int]]:
    """Poll until the scan has finished; the `probed` counts seen on the way."""
    seen = []
    for _ in range(1200):  # a bound, not a timing: the scan of 5 tiny files takes a second or two
        run = (await gql(POLL, {"id": scan_id}))["mediaScan"]
        seen.append(run["probed"])
        if run["state"] in ("done", "failed"):
            return run, seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"the scan did not finish: {run}")


async def test_background_scan_reports_progress_and_file_errors(gql, api_settings, api_clip):
    for key in ("a.mp4", "b.mp4", "c.mp4", "sub/d.mp4"):
        dest = api_settings.in_root / key
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(api_clip.read_bytes())
    (api_settings.in_root / "broken.mp4").write_bytes(b"\x00" * 100)
    (api_settings.in_root / ".hidden.mp4").write_bytes(b"x")

    started = (await gql(START))["startMediaScan"]
    assert started["state"] in ("listing", "probing") and started["probed"] == 0
    joined = (await gql(START))["startMediaScan"]  # one scan at a time: the running one is returned
    assert joined["id"] == started["id"]

    run, seen = await wait_done(gql, started["id"])
    assert run["state"] == "done" and run["error"] == ""
    assert (run["total"], run["probed"], run["added"], run["errors"], run["skipped"]) == (5, 5, 5, 1, 1)
    assert seen == sorted(seen)  # the count only goes up
    [bad] = run["fileErrors"]
    assert bad["key"] == "broken.mp4" and bad["message"] and bad["assetId"]
    assets = (await gql("{ assets(first: 20) { totalCount } }"))["assets"]
    assert assets["totalCount"] == 5

    again = (await gql(START))["startMediaScan"]
    assert again["id"] != started["id"]
    run, _ = await wait_done(gql, again["id"])
    assert (run["total"], run["probed"], run["unchanged"], run["errors"]) == (0, 0, 5, 0)


async def test_unknown_scan_is_null_and_prefix_is_checked(gql):
    assert (await gql('{ mediaScan(id: "nope") { id } }'))["mediaScan"] is None
    err = await gql.error('mutation { startMediaScan(prefix: "../etc") { id } }')
    assert err["extensions"]["code"] == "STORAGE_ERROR"
