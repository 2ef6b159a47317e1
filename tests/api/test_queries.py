"""List queries: cursor pagination complete and stable, filters, single lookups, systemStatus."""
from __future__ import annotations

import base64

from api_helpers import seed_jobs
from backend.catalog.tables import MediaAsset, TranscodeJob

JOBS_PAGE = """query($first: Int, $after: String, $status: [JobStatus!], $search: String, $sourceId: ID) {
  jobs(first: $first, after: $after, status: $status, search: $search, sourceId: $sourceId) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id status outputFilename source { id filename } } }
  }
}"""


async def all_pages(gql, page_size: int, **variables) -> list[str]:
    ids: list[str] = []
    after = None
    for _ in range(1000):
        data = (await gql(JOBS_PAGE, {"first": page_size, "after": after, **variables}))["jobs"]
        ids += [e["node"]["id"] for e in data["edges"]]
        assert len(data["edges"]) <= page_size
        if not data["pageInfo"]["hasNextPage"]:
            return ids
        after = data["pageInfo"]["endCursor"]
        assert after == data["edges"][-1]["cursor"]
    raise AssertionError("pagination did not end")


async def test_pagination_complete_and_stable(gql, add_asset, presets):
    asset = await add_asset()
    seeded = await seed_jobs(45, asset["id"], presets["H.264 720p"], statuses=("queued", "failed", "succeeded"))
    ids = await all_pages(gql, 20)
    assert ids == [str(i) for i in reversed(seeded)]  # newest first, each exactly once

    # rows added while a client pages do not shift or repeat what it has not read yet
    first = (await gql(JOBS_PAGE, {"first": 10}))["jobs"]
    await seed_jobs(5, asset["id"], presets["H.264 720p"], name="late")
    rest = await all_pages_from(gql, 10, first["pageInfo"]["endCursor"])
    assert [e["node"]["id"] for e in first["edges"]] + rest == ids
    assert first["totalCount"] == 45


async def all_pages_from(gql, page_size, after):
    ids = []
    while after:
        data = (await gql(JOBS_PAGE, {"first": page_size, "after": after}))["jobs"]
        ids += [e["node"]["id"] for e in data["edges"]]
        after = data["pageInfo"]["endCursor"] if data["pageInfo"]["hasNextPage"] else None
    return ids


async def test_page_size_capped_at_100(gql, add_asset, presets):
    asset = await add_asset()
    await seed_jobs(130, asset["id"], presets["H.264 720p"])
    data = (await gql(JOBS_PAGE, {"first": 500}))["jobs"]
    assert len(data["edges"]) == 100 and data["pageInfo"]["hasNextPage"] and data["totalCount"] == 130
    data = (await gql(JOBS_PAGE, {}))["jobs"]
    assert len(data["edges"]) == 20
    data = (await gql(JOBS_PAGE, {"first": 0}))["jobs"]
    assert data["edges"] == [] and data["pageInfo"]["endCursor"] is None


async def test_job_filters(gql, add_asset, presets):
    a = await add_asset("holiday.mp4")
    b = await add_asset("work/meeting_100%.mp4")
    await MediaAsset.update({MediaAsset.tags: ["beach", "Summer"]}).where(MediaAsset.id == a["id"])
    await seed_jobs(6, a["id"], presets["H.264 720p"], statuses=("queued", "failed"), name="hol")
    await seed_jobs(4, b["id"], presets["H.264 720p"], statuses=("succeeded",), name="meet")

    by_status = (await gql(JOBS_PAGE, {"status": ["FAILED", "SUCCEEDED"], "first": 100}))["jobs"]
    assert by_status["totalCount"] == 7
    assert {e["node"]["status"] for e in by_status["edges"]} == {"FAILED", "SUCCEEDED"}

    holiday = (await gql(JOBS_PAGE, {"search": "HOLIDAY", "first": 100}))["jobs"]
    assert holiday["totalCount"] == 6
    assert {e["node"]["source"]["filename"] for e in holiday["edges"]} == {"holiday.mp4"}
    assert (await gql(JOBS_PAGE, {"search": "summer"}))["jobs"]["totalCount"] == 6  # tag
    assert (await gql(JOBS_PAGE, {"search": "meet-2"}))["jobs"]["totalCount"] == 1  # output filename
    assert (await gql(JOBS_PAGE, {"search": "100%"}))["jobs"]["totalCount"] == 4  # % is literal
    assert (await gql(JOBS_PAGE, {"search": "_"}))["jobs"]["totalCount"] == 4  # _ is literal
    assert (await gql(JOBS_PAGE, {"search": "nothing-like-this"}))["jobs"]["totalCount"] == 0
    assert (await gql(JOBS_PAGE, {"sourceId": str(b["id"])}))["jobs"]["totalCount"] == 4
    both = await all_pages(gql, 3, status=["QUEUED"], search="hol")
    assert len(both) == 3


ASSETS_PAGE = """query($first: Int, $after: String, $status: [AssetStatus!], $search: String) {
  assets(first: $first, after: $after, status: $status, search: $search) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id filename status tags mediaUrl posterUrl filmstripUrl filmstripFrames duration width height }
  }
}"""


async def test_assets_query(gql, add_asset, api_settings):
    assets = [await add_asset(f"clip{i}.mp4") for i in range(5)]
    (api_settings.in_root / "junk.mp4").write_text("not media")
    await gql("mutation { scanMediaFolder { added } }")
    await MediaAsset.update({MediaAsset.tags: ["Interview"]}).where(MediaAsset.id == assets[2]["id"])

    data = (await gql(ASSETS_PAGE, {"first": 2}))["assets"]
    assert data["totalCount"] == 6 and len(data["nodes"]) == 2 and data["pageInfo"]["hasNextPage"]
    node = (await gql(ASSETS_PAGE, {"status": ["READY"], "first": 100}))["assets"]["nodes"][0]
    assert node["mediaUrl"].startswith("/media/in/") and node["posterUrl"].startswith("/media/thumbs/")
    assert node["filmstripUrl"] and node["filmstripFrames"] > 0 and node["duration"] > 1.5
    for field in ("mediaUrl", "posterUrl", "filmstripUrl"):  # signed links: a browser needs no token
        resp = await gql.client.get(node[field])
        assert resp.status_code == 200 and resp.content, field
        assert (await gql.client.get(node[field].split("?")[0])).status_code == 403, field
    errors = (await gql(ASSETS_PAGE, {"status": ["ERROR"]}))["assets"]["nodes"]
    assert [n["filename"] for n in errors] == ["junk.mp4"]
    tagged = (await gql(ASSETS_PAGE, {"search": "interview"}))["assets"]["nodes"]
    assert [n["id"] for n in tagged] == [str(assets[2]["id"])] and tagged[0]["tags"] == ["Interview"]

    one = await gql('query($id: ID!) { asset(id: $id) { id filename size storageKey } }', {"id": str(assets[0]["id"])})
    assert one["asset"]["filename"] == "clip0.mp4" and one["asset"]["size"] > 0


async def test_job_query_and_system_status(gql, add_asset, presets):
    asset = await add_asset()
    ids = await seed_jobs(3, asset["id"], presets["H.264 720p"], statuses=("queued", "running", "failed"))
    await TranscodeJob.update({TranscodeJob.error: "boom", TranscodeJob.log_tail: "last lines"}).where(
        TranscodeJob.id == ids[2])
    data = await gql("""query($id: ID!) { job(id: $id) {
        id status error logTail attempt progress duration presetSnapshot plan
        preset { name builtin } source { filename } outputAsset { id } outputUrl
        history { fromStatus toStatus reason attempt at } } }""", {"id": str(ids[2])})
    job = data["job"]
    assert job["status"] == "FAILED" and job["error"] == "boom" and job["logTail"] == "last lines"
    assert job["preset"] == {"name": "H.264 720p", "builtin": True} and job["source"]["filename"] == "clip.mp4"
    assert job["outputAsset"] is None and job["outputUrl"] is None and job["duration"] == 1.0
    assert job["history"][0]["toStatus"] == "queued" and job["history"][0]["reason"] == "seeded"

    status = (await gql("{ systemStatus { jobCounts { status count } assetCount executor workers "
                        "executorAlive ffmpegVersion storage database } }"))["systemStatus"]
    counts = {c["status"]: c["count"] for c in status["jobCounts"]}
    assert counts == {"QUEUED": 1, "RUNNING": 1, "FAILED": 1, "SUCCEEDED": 0, "CANCELLED": 0}
    assert status["assetCount"] == 1 and status["executor"] == "local" and status["workers"] == 2
    assert status["executorAlive"] is None  # run_jobs=False
    assert status["storage"] == "local" and status["database"] in ("sqlite", "postgresql")
    assert status["ffmpegVersion"]


async def test_media_links_bind_their_asset_and_the_files_version(gql, add_asset, api_settings):
    """mediaUrl and posterUrl name the asset and the file's version: a replaced file, or an asset
    deleted and registered again for the same file (a new id), opens nothing through the old links."""
    asset = await add_asset("bound.mp4")
    q = 'query($id: ID!) { asset(id: $id) { mediaUrl posterUrl } }'
    links = (await gql(q, {"id": str(asset["id"])}))["asset"]
    for field in ("mediaUrl", "posterUrl"):
        assert f"a={asset['id']}&v=" in links[field], field
        assert (await gql.client.get(links[field], headers={"Authorization": ""})).status_code == 200, field

    await MediaAsset.delete().where(MediaAsset.id == asset["id"])  # the row goes, the file stays
    again = await add_asset("bound.mp4")
    assert again["id"] != asset["id"]
    for field in ("mediaUrl", "posterUrl"):
        resp = await gql.client.get(links[field], headers={"Authorization": ""})
        assert resp.status_code == 403 and "no longer holds" in resp.json()["detail"], field

    fresh = (await gql(q, {"id": str(again["id"])}))["asset"]["mediaUrl"]
    assert (await gql.client.get(fresh, headers={"Authorization": ""})).status_code == 200
    path = api_settings.in_root / "bound.mp4"
    path.write_bytes(path.read_bytes() + b"\0")  # replaced in place, same name
    resp = await gql.client.get(fresh, headers={"Authorization": ""})
    assert resp.status_code == 403 and "another version" in resp.json()["detail"]


SORTED_PAGE = """query($first: Int, $after: String, $sort: AssetSort!, $search: String) {
  assets(first: $first, after: $after, sort: $sort, search: $search) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id filename duration size } }
  }
}"""


async def _sorted_ids(gql, sort: str, page_size: int, **variables) -> list[int]:
    ids, after = [], None
    for _ in range(100):
        data = (await gql(SORTED_PAGE, {"first": page_size, "after": after, "sort": sort, **variables}))["assets"]
        ids += [int(e["node"]["id"]) for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            return ids
        after = data["pageInfo"]["endCursor"]
        assert after == data["edges"][-1]["cursor"]
    raise AssertionError("pagination did not end")


async def test_assets_sort_pages_each_order_once_with_ties_and_nulls(gql):
    # (filename, duration, size): equal names (case aside), equal durations, no duration, equal sizes
    specs = [("Delta.mp4", 5.0, 300), ("alpha.mp4", None, 100), ("ALPHA.mp4", 12.5, 100),
             ("charlie.mp4", 5.0, 900), ("Bravo.mp4", None, 50), ("echo.mp4", 0.04, 300), ("foxtrot.mp4", 7.25, 10)]
    rows = []
    for i, (name, duration, size) in enumerate(specs):
        row = MediaAsset(filename=name, storage_key=f"sort/{i}.mp4", size=size, duration=duration, status="ready")
        await row.save()
        rows.append((row.id, name, duration, size))
    by = {
        "DATE_DESC": lambda r: -r[0], "DATE_ASC": lambda r: r[0],
        "NAME_ASC": lambda r: (r[1].lower(), r[0]), "NAME_DESC": lambda r: (_neg(r[1].lower()), -r[0]),
        "DURATION_ASC": lambda r: (r[2] if r[2] is not None else -1, r[0]),
        "DURATION_DESC": lambda r: (-(r[2] if r[2] is not None else -1), -r[0]),
        "SIZE_ASC": lambda r: (r[3], r[0]), "SIZE_DESC": lambda r: (-r[3], -r[0]),
    }
    for sort, key in by.items():
        expected = [r[0] for r in sorted(rows, key=key)]
        for size in (2, 3, 100):  # every page boundary lands on a tie somewhere
            assert await _sorted_ids(gql, sort, size) == expected, (sort, size)
    # filters still apply in a sort; the count is the filter's
    data = (await gql(SORTED_PAGE, {"first": 1, "sort": "NAME_ASC", "search": "alpha"}))["assets"]
    assert data["totalCount"] == 2 and data["pageInfo"]["hasNextPage"]
    assert [e["node"]["id"] for e in data["edges"]] == [str(min(rows[1][0], rows[2][0]))]
    # a cursor belongs to its order: another order's (or the default's) is refused, not misread
    name_cursor = (await gql(SORTED_PAGE, {"first": 2, "sort": "NAME_ASC"}))["assets"]["pageInfo"]["endCursor"]
    size_cursor = (await gql(SORTED_PAGE, {"first": 2, "sort": "SIZE_ASC"}))["assets"]["pageInfo"]["endCursor"]
    date_cursor = (await gql(SORTED_PAGE, {"first": 2, "sort": "DATE_DESC"}))["assets"]["pageInfo"]["endCursor"]
    for sort, cursor in (("SIZE_ASC", name_cursor), ("NAME_ASC", date_cursor), ("DATE_DESC", size_cursor),
                         ("NAME_DESC", name_cursor)):
        result = (await gql.raw(SORTED_PAGE, {"first": 2, "sort": sort, "after": cursor})).json()
        assert result["errors"][0]["extensions"]["code"] == "INVALID_INPUT", (sort, result)
    # a hand-made cursor with the wrong type of key is refused too (never reaches the database)
    forged = base64.urlsafe_b64encode(f"asset:DURATION_ASC:{rows[0][0]}:\"x\"".encode()).decode().rstrip("=")
    result = (await gql.raw(SORTED_PAGE, {"first": 2, "sort": "DURATION_ASC", "after": forged})).json()
    assert result["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    # an unknown order is refused by the schema
    result = (await gql.raw(SORTED_PAGE, {"first": 2, "sort": "COLOUR"})).json()
    assert result["errors"] and "AssetSort" in result["errors"][0]["message"]


def _neg(text: str) -> tuple:
    return tuple(-ord(c) for c in text) + (1,)  # descending text; a prefix sorts after its extensions


async def test_asset_area_is_checked_and_a_nul_in_search_is_harmless(gql, add_asset):
    await add_asset("plain.mp4")
    query = "query($a: String, $s: String) { assets(area: $a, search: $s) { nodes { filename } } }"
    for area in ("thumbs", "in\x00", "elsewhere"):  # PostgreSQL would refuse the NUL: named, not a server error
        result = (await gql.raw(query, {"a": area})).json()
        assert result["errors"][0]["extensions"]["code"] == "INVALID_INPUT", (area, result)
        assert "area must be one of in, out" in result["errors"][0]["message"]
    assert (await gql(query, {"a": "in", "s": "pla\x00"}))["assets"]["nodes"] == []
    assert [n["filename"] for n in (await gql(query, {"a": "in", "s": "plain"}))["assets"]["nodes"]] == ["plain.mp4"]
