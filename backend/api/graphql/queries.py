"""Read side of the schema: assets, asset, jobs, job, presets, templates, sequences (and their export), systemStatus,
mediaScan (a background scan's progress)."""
from __future__ import annotations

import asyncio

import strawberry

from backend.api.graphql.context import api
from backend.api.graphql.filters import asset_filters, job_filters
from backend.api.graphql.ids import parse_id
from backend.api.graphql.loaders import rows_by_ids
from backend.api.graphql.pagination import Order, counter, encode_cursor, fetch_ordered_page, fetch_page
from backend.api.graphql.types import (
    AssetStatus,
    Connection,
    Edge,
    JobStatus,
    MediaAsset,
    MediaScan,
    OutputTemplate,
    PageInfo,
    Sequence,
    SystemStatus,
    TranscodeJob,
    TranscodePreset,
    TrimPlan,
)
from backend.api.graphql.inputs import AssetSort, SequenceFormat, TrimMode
from backend.jobs import interchange as sequence_interchange
from backend.jobs import scans
from backend.jobs import sequences as sequence_rules
from backend.jobs.trimplan import trim_plan as plan_trim
from backend.api.system import database_kind
from backend.catalog.tables import MediaAsset as AssetTable
from backend.catalog.tables import TranscodeJob as JobTable
from backend.catalog.tables import OutputTemplate as TemplateTable
from backend.catalog.tables import Sequence as SequenceTable
from backend.catalog.tables import TranscodePreset as PresetTable


# AssetSort -> keyed order (DATE_DESC is the plain id order); "date" is the date added, which is
# the id order (ids are handed out as assets are created), so its cursors need no other key
ASSET_ORDERS: dict[AssetSort, Order] = {
    AssetSort.DATE_ASC: Order("DATE_ASC", '"id"', False),
    AssetSort.NAME_ASC: Order("NAME_ASC", 'LOWER("filename")', False, str),
    AssetSort.NAME_DESC: Order("NAME_DESC", 'LOWER("filename")', True, str),
    AssetSort.DURATION_ASC: Order("DURATION_ASC", 'COALESCE("duration", -1.0)', False, float),
    AssetSort.DURATION_DESC: Order("DURATION_DESC", 'COALESCE("duration", -1.0)', True, float),
    AssetSort.SIZE_ASC: Order("SIZE_ASC", '"size"', False),
    AssetSort.SIZE_DESC: Order("SIZE_DESC", '"size"', True),
}


def selected_names(info) -> set[str]:
    """Every field name selected anywhere under the current field (fragments included)."""
    names: set[str] = set()
    stack = list(info.selected_fields)
    while stack:
        node = stack.pop()
        name = getattr(node, "name", None)
        if name:
            names.add(name)
        stack.extend(getattr(node, "selections", None) or ())
    return names


async def prefetch_related(info, rows: list[dict]) -> None:
    """Load the page's source/output assets and presets now, in one query per kind, so the
    per-job fields resolve without an awaitable each."""
    names = selected_names(info)
    loaders = api(info).loaders
    waits = []
    asset_ids = set()
    if "source" in names:
        asset_ids.update(r["source"] for r in rows)
    if "outputAsset" in names:
        asset_ids.update(r["output_asset"] for r in rows if r["output_asset"] is not None)
    if asset_ids:
        waits.append(loaders.asset.load_many(sorted(asset_ids)))
    if "preset" in names:
        preset_ids = {r["preset"] for r in rows if r["preset"] is not None}
        if preset_ids:
            waits.append(loaders.preset.load_many(sorted(preset_ids)))
    if waits:
        await asyncio.gather(*waits)


def _connection(kind: str, cls, rows: list[dict], has_next: bool, count) -> Connection:
    edges = [Edge(cursor=encode_cursor(kind, r["id"]), node=cls.from_row(r)) for r in rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(has_next_page=has_next, end_cursor=edges[-1].cursor if edges else None),
        _count=count,
    )


@strawberry.type
class Query:
    @strawberry.field(description="Assets, newest first unless `sort` says otherwise. `search` matches filename and "
                                  "tags. A cursor (`after`) belongs to the sort order it came from.")
    async def assets(
        self,
        info: strawberry.Info,
        first: int | None = 20,
        after: str | None = None,
        status: list[AssetStatus] | None = None,
        search: str | None = None,
        area: str | None = None,
        sort: AssetSort = AssetSort.DATE_DESC,
    ) -> Connection[MediaAsset]:
        where = asset_filters(status, search, area)
        order = ASSET_ORDERS.get(sort)
        if order is None:  # DATE_DESC: the id order, whose cursors predate sorting
            rows, has_next = await fetch_page(AssetTable, "asset", where, first, after)
            connection = _connection("asset", MediaAsset, rows, has_next, counter(AssetTable, where))
        else:
            rows, cursors, has_next = await fetch_ordered_page(AssetTable, "asset", where, first, after, order)
            edges = [Edge(cursor=c, node=MediaAsset.from_row(r)) for c, r in zip(cursors, rows)]
            connection = Connection(edges=edges, page_info=PageInfo(
                has_next_page=has_next, end_cursor=cursors[-1] if cursors else None), _count=counter(AssetTable, where))
        api(info).loaders.prime_assets(rows)
        return connection

    @strawberry.field
    async def asset(self, info: strawberry.Info, id: strawberry.ID) -> MediaAsset | None:
        rows = await rows_by_ids(AssetTable, [parse_id(id, "asset id")])
        return MediaAsset.from_row(rows[0]) if rows else None

    @strawberry.field(description="Jobs, newest first. `search` matches output and source filenames and tags.")
    async def jobs(
        self,
        info: strawberry.Info,
        first: int | None = 20,
        after: str | None = None,
        status: list[JobStatus] | None = None,
        search: str | None = None,
        source_id: strawberry.ID | None = None,
    ) -> Connection[TranscodeJob]:
        source = parse_id(source_id, "sourceId") if source_id is not None else None
        where = job_filters(status, search, source)
        rows, has_next = await fetch_page(JobTable, "job", where, first, after)
        await prefetch_related(info, rows)
        return _connection("job", TranscodeJob, rows, has_next, counter(JobTable, where))

    @strawberry.field
    async def job(self, info: strawberry.Info, id: strawberry.ID) -> TranscodeJob | None:
        rows = await rows_by_ids(JobTable, [parse_id(id, "job id")])
        return TranscodeJob.from_row(rows[0]) if rows else None

    @strawberry.field(description="What cutting the source from start to end in `mode` (default SMART) will do: "
                                  "seconds re-encoded at each edge and copied, from the source's keyframes.")
    async def trim_plan(self, info: strawberry.Info, source_id: strawberry.ID, start: float | None = None,
                        end: float | None = None, mode: TrimMode | None = None,
                        preset_id: strawberry.ID | None = None) -> TrimPlan:
        plan = await plan_trim(api(info).storages, source_id=parse_id(source_id, "sourceId"), start=start, end=end,
                               mode=mode.value if mode else None,
                               preset_id=None if preset_id is None else parse_id(preset_id, "presetId"))
        return TrimPlan(mode=plan.mode, description=plan.description, head_seconds=plan.head_seconds,
                        tail_seconds=plan.tail_seconds, copy_seconds=plan.copy_seconds,
                        encode_seconds=plan.encode_seconds, frames=plan.frames, fallback=plan.fallback)

    @strawberry.field(description="All presets, builtins first, then by name.")
    async def presets(self, info: strawberry.Info) -> list[TranscodePreset]:
        rows = await PresetTable.select().order_by(PresetTable.builtin, ascending=False).order_by(PresetTable.name)
        return [TranscodePreset.from_row(r) for r in rows]

    @strawberry.field(description="All output templates, builtins first, then by name.")
    async def templates(self, info: strawberry.Info) -> list[OutputTemplate]:
        rows = await TemplateTable.select().order_by(TemplateTable.builtin, ascending=False).order_by(TemplateTable.name)
        return [OutputTemplate.from_row(r) for r in rows]

    @strawberry.field
    async def template(self, info: strawberry.Info, id: strawberry.ID) -> OutputTemplate | None:
        row = await TemplateTable.select().where(TemplateTable.id == parse_id(id, "template id")).first()
        return OutputTemplate.from_row(row) if row else None

    @strawberry.field(description="Saved sequences, most recently changed first.")
    async def sequences(self, info: strawberry.Info) -> list[Sequence]:
        rows = await SequenceTable.select().order_by(SequenceTable.updated_at, ascending=False).order_by(
            SequenceTable.id, ascending=False)
        return [Sequence.from_row(r) for r in rows]

    @strawberry.field
    async def sequence(self, info: strawberry.Info, id: strawberry.ID) -> Sequence | None:
        row = await SequenceTable.select().where(SequenceTable.id == parse_id(id, "sequence id")).first()
        return Sequence.from_row(row) if row else None

    @strawberry.field(description="A sequence as timeline text: OTIO JSON, CMX 3600 EDL, FCP X XML or FCP 7 XML "
                                  "(clip ranges in whole frames of the sources' highest frame rate).")
    async def export_sequence(self, info: strawberry.Info, id: strawberry.ID, format: SequenceFormat) -> str:
        return await sequence_interchange.export_sequence(parse_id(id, "sequence id"), format.value)

    @strawberry.field(description="A folder scan started by startMediaScan: its progress, counts and per-file errors "
                                  "(null when this server does not know it, e.g. after a restart).")
    def media_scan(self, info: strawberry.Info, id: strawberry.ID) -> MediaScan | None:
        run = scans.get(str(id))
        return MediaScan.from_run(run) if run is not None else None

    @strawberry.field
    def system_status(self, info: strawberry.Info) -> SystemStatus:
        ctx = api(info)
        runtime = ctx.runtime
        return SystemStatus(
            executor=ctx.settings.executor,
            workers=ctx.settings.workers,
            storage=ctx.settings.storage,
            database=database_kind(),
            executor_alive=None if runtime is None else bool(getattr(runtime, "alive", False)),
        )
