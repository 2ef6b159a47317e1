"""DataLoaders: listing jobs with their assets, presets and histories costs a constant number of SQL queries."""
from __future__ import annotations

from api_helpers import seed_jobs
from backend.catalog.tables import TranscodeJob

LIST = """query($first: Int) { jobs(first: $first) { pageInfo { hasNextPage } edges { node {
  id status progress source { id filename posterUrl } outputAsset { id filename } preset { id name summary }
  history { toStatus at } } } } }"""


class QueryCounter:
    """Counts what the app's engine runs: every SELECT/INSERT/UPDATE Piccolo sends goes through
    Engine.run_querystring (engines have __slots__, so the class method is wrapped, filtered by instance)."""

    def __init__(self, engine):
        self.engine = engine
        self.sql: list[str] = []
        self.cls = type(engine)
        self._original = self.cls.run_querystring
        counter = self

        async def counted(self_, querystring, *args, **kwargs):
            if self_ is counter.engine:
                counter.sql.append(str(querystring))
            return await counter._original(self_, querystring, *args, **kwargs)

        self.cls.run_querystring = counted

    def reset(self) -> None:
        self.sql.clear()

    def close(self) -> None:
        self.cls.run_querystring = self._original


async def test_listing_costs_constant_queries(client, gql, add_asset, presets):
    sources = [await add_asset(f"src{i}.mp4") for i in range(5)]
    output = await add_asset("out.mp4")
    for i, src in enumerate(sources):
        preset = list(presets.values())[i % 4]
        await seed_jobs(24, src["id"], preset, output_asset=output["id"], statuses=("succeeded", "failed"))
    assert await TranscodeJob.count() == 120

    counter = QueryCounter(client.app.state.engine)
    try:
        counts = {}
        for first in (1, 10, 100):
            counter.reset()
            data = await gql(LIST, {"first": first})
            assert len(data["jobs"]["edges"]) == first
            node = data["jobs"]["edges"][-1]["node"]
            assert node["source"]["filename"].startswith("src") and node["outputAsset"]["id"] == str(output["id"])
            assert node["preset"]["name"] and node["history"][0]["toStatus"] == "queued"
            counts[first] = len(counter.sql)
        sql = list(counter.sql)
    finally:
        counter.close()
    # jobs page + one batched query each for assets (source and output together), presets, histories
    assert counts[1] == counts[10] == counts[100], counts
    assert 4 <= counts[100] <= 4, (counts, sql)
