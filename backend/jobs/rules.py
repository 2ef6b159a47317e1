"""Automation rules at work: when an input asset is ready, every enabled rule that matches it queues
a job through `backend.jobs.service.create_job` — once per rule per version of the asset's file.

`apply_rules(settings, storages, asset_id)` is called by whoever made the asset ready (the
`scanMediaFolder` / `uploadAsset` mutations, `mpr scan`, the watched input folder, bucket events;
`backend.jobs.intake` bundles "ingest, then apply"). Idempotency: a `RuleFiring` row keyed
`<rule>:<asset>:<version>` (unique) is inserted before the job is created, so a rescan, a repeated
event or a second process racing on the same file never queues a second job; a refusal of
create_job (a video preset for an audio file, …) is kept on that row as its `error`.

`dry_run(match)` answers "which existing assets would this match?" and `counts(rule_ids)` how many
assets each rule matched and how many jobs it made.
"""
from __future__ import annotations

import datetime as dt
import logging
import posixpath
from dataclasses import dataclass

from piccolo.query.functions.aggregate import Count

from backend.catalog.rule_match import RuleMatch, asset_version, matches
from backend.catalog.statuses import READY
from backend.catalog.tables import AutomationRule, MediaAsset, OutputTemplate, RuleFiring, TranscodePreset
from backend.config import Settings
from backend.jobs.errors import DomainError
from backend.jobs.naming import expand_pattern, sanitize_stem, slug
from backend.jobs.service import create_job
from backend.storage import Storages

log = logging.getLogger("mpr.jobs.rules")

DRY_RUN_PAGE = 500  # assets read per round of a dry run


@dataclass(frozen=True)
class Firing:
    """What one rule did for one asset: `job_id` (queued), or `error` (refused); `new` False when
    this rule had already fired for this version of the file (nothing was done now)."""

    rule_id: int
    asset_id: int
    job_id: int | None
    error: str
    new: bool


async def _action_name(rule: dict) -> str:
    if rule["template_id"] is not None:
        row = await OutputTemplate.select(OutputTemplate.name).where(OutputTemplate.id == rule["template_id"]).first()
    else:
        row = await TranscodePreset.select(TranscodePreset.name).where(TranscodePreset.id == rule["preset_id"]).first()
    return row["name"] if row else "output"


async def output_stem(rule: dict, asset: dict) -> str:
    """The rule's output pattern filled in for `asset` (create_job still picks a free name)."""
    source = asset["filename"] or posixpath.basename(asset["storage_key"])
    return expand_pattern(
        rule["output_pattern"] or "{stem}-{preset}",
        stem=sanitize_stem(source) or "output", preset=slug(await _action_name(rule)) or "output",
        rule=slug(rule["name"]) or "rule", asset=str(asset["id"]), date=dt.datetime.now(dt.timezone.utc).date().isoformat(),
    )


async def _claim(rule_id: int, asset: dict) -> int | None:
    """Insert the firing row; None when it exists (this rule already fired for this version)."""
    fire_key = f"{rule_id}:{asset['id']}:{asset_version(asset)}"[:200]
    rows = await RuleFiring.insert(RuleFiring(rule=rule_id, asset=asset["id"], fire_key=fire_key)).on_conflict(
        action="DO NOTHING").returning(RuleFiring.id)
    return rows[0]["id"] if rows else None


async def _fire(settings: Settings, storages: Storages, rule: dict, asset: dict) -> Firing:
    firing_id = await _claim(rule["id"], asset)
    if firing_id is None:
        return Firing(rule["id"], asset["id"], None, "", new=False)
    job_id, error = None, ""
    try:
        if rule["preset_id"] is None and rule["template_id"] is None:
            raise DomainError("INVALID_INPUT", "the rule has no preset or template (was it deleted?)")
        job = await create_job(
            settings, storages, source_id=asset["id"], preset_id=rule["preset_id"], template_id=rule["template_id"],
            priority=rule["priority"], output_stem=await output_stem(rule, asset),
            reason=f"created by rule {rule['name']!r}",
        )
        job_id = job["id"]
    except DomainError as exc:
        error = f"{exc.code}: {exc.message}"
    except Exception as exc:  # a bug or the database: recorded, and the other rules still run
        log.exception("rule %s on asset %s failed", rule["id"], asset["id"])
        error = f"{type(exc).__name__}: {exc}"
    await RuleFiring.update({RuleFiring.job_id: job_id, RuleFiring.error: error[:2000]}).where(
        RuleFiring.id == firing_id)
    if error:
        log.info("rule %r matched asset %s but made no job: %s", rule["name"], asset["id"], error)
    return Firing(rule["id"], asset["id"], job_id, error, new=True)


async def enabled_rules() -> list[dict]:
    return await AutomationRule.select().where(AutomationRule.enabled == True).order_by(  # noqa: E712
        AutomationRule.priority, ascending=False).order_by(AutomationRule.id)


async def apply_rules(settings: Settings, storages: Storages, asset_id: int) -> list[Firing]:
    """Queue the jobs of every enabled rule that matches this ready input asset (highest priority
    first), each at most once per version of the file. Assets that are not ready, and outputs
    (area `out`), match no rule."""
    asset = await MediaAsset.select().where(MediaAsset.id == asset_id).first()
    if asset is None or asset["status"] != READY or asset["storage_area"] != "in":
        return []
    fired = []
    for rule in await enabled_rules():
        if matches(RuleMatch.from_row(rule), asset):
            fired.append(await _fire(settings, storages, rule, asset))
    return fired


async def dry_run(match: RuleMatch, limit: int = 100) -> tuple[list[dict], int]:
    """Ready input assets `match` selects: (the first `limit` rows, by id; how many in all)."""
    found: list[dict] = []
    total, last_id = 0, 0
    while True:
        page = await MediaAsset.select().where(
            (MediaAsset.storage_area == "in") & (MediaAsset.status == READY) & (MediaAsset.id > last_id)
        ).order_by(MediaAsset.id).limit(DRY_RUN_PAGE)
        for row in page:
            if matches(match, row):
                total += 1
                if len(found) < limit:
                    found.append(row)
        if len(page) < DRY_RUN_PAGE:
            return found, total
        last_id = page[-1]["id"]


async def counts(rule_ids: list[int]) -> dict[int, tuple[int, int]]:
    """rule id → (assets it matched, jobs it made), from the firing records."""
    if not rule_ids:
        return {}
    rows = await RuleFiring.select(RuleFiring.rule, RuleFiring.asset, Count(RuleFiring.job_id, alias="jobs")).where(
        RuleFiring.rule.is_in(rule_ids)).group_by(RuleFiring.rule, RuleFiring.asset)
    out = {i: (0, 0) for i in rule_ids}
    for r in rows:  # one row per (rule, asset)
        assets, jobs = out[r["rule"]]
        out[r["rule"]] = (assets + 1, jobs + r["jobs"])
    return out
