"""Automation rules in GraphQL: `rules`, `ruleMatches` (the dry run: which existing assets a match
selects, before saving); `createRule`, `updateRule`, `deleteRule`.

A rule = a match (`RuleMatchInput`, checked by `backend.catalog.rule_match.validate_match`) + an
action (one preset or one output template) + the job's priority + an output pattern
(`backend.jobs.naming.check_pattern`). Firing is `backend.jobs.rules`; who may call what is in
`permissions.PERMISSIONS` (reading: viewers; changing: admins). Refusals carry code
`INVALID_RULE` and name the field (`extensions.field`).
"""
from __future__ import annotations

import datetime as dt
import unicodedata

import strawberry

from backend.api.graphql.context import api
from backend.api.graphql.ids import parse_id
from backend.api.graphql.inputs import given
from backend.api.graphql.types import DeleteResult, MediaAsset
from backend.catalog.rule_match import RuleMatch, RuleMatchError, validate_match
from backend.catalog.tables import AutomationRule, OutputTemplate, TranscodePreset
from backend.jobs import rules as rule_service
from backend.jobs.errors import DomainError, not_found
from backend.jobs.naming import check_pattern

MAX_NAME = 128
MAX_DRY_RUN = 200
_MATCH_FIELDS = ("path_prefix", "path_glob", "containers", "video_codecs", "audio_codecs", "min_duration",
                 "max_duration", "min_width", "max_width", "min_height", "max_height", "tags")


def _invalid(field: str, message: str) -> DomainError:
    err = DomainError("INVALID_RULE", message)
    err.field = field
    return err


def _opt_id(value) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type(description="An automation rule: when an input asset becomes ready and matches, queue a job "
                             "with the preset or output template (once per version of the file).")
class Rule:
    id: strawberry.ID
    name: str
    enabled: bool
    priority: int = strawberry.field(description="The job's priority; rules are tried highest first.")
    path_prefix: str
    path_glob: str = strawberry.field(description="fnmatch pattern on the input key, e.g. 'news/*.mov'.")
    containers: list[str]
    video_codecs: list[str]
    audio_codecs: list[str]
    min_duration: float | None
    max_duration: float | None
    min_width: int | None
    max_width: int | None
    min_height: int | None
    max_height: int | None
    tags: list[str] = strawberry.field(description="The asset must carry all of these.")
    preset_id: strawberry.ID | None
    template_id: strawberry.ID | None
    output_pattern: str = strawberry.field(description="Output name: {stem} {preset} {rule} {asset} {date}.")
    assets_matched: int = strawberry.field(description="Assets this rule has matched (fired for).")
    jobs_made: int = strawberry.field(description="Jobs this rule has queued.")
    created_at: dt.datetime | None
    updated_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: dict, counts: tuple[int, int] = (0, 0)) -> "Rule":
        match = RuleMatch.from_row(row)
        return cls(
            id=strawberry.ID(str(row["id"])), name=row["name"], enabled=bool(row["enabled"]),
            priority=row["priority"] or 0, path_prefix=match.path_prefix, path_glob=match.path_glob,
            containers=list(match.containers), video_codecs=list(match.video_codecs),
            audio_codecs=list(match.audio_codecs), min_duration=match.min_duration, max_duration=match.max_duration,
            min_width=match.min_width, max_width=match.max_width, min_height=match.min_height,
            max_height=match.max_height, tags=list(match.tags), preset_id=_opt_id(row["preset_id"]),
            template_id=_opt_id(row["template_id"]), output_pattern=row["output_pattern"],
            assets_matched=counts[0], jobs_made=counts[1], created_at=row["created_at"], updated_at=row["updated_at"],
        )


@strawberry.type(description="The dry run of a match: the ready input assets it selects now.")
class RuleMatches:
    total: int
    assets: list[MediaAsset] = strawberry.field(description="The first `first` of them, oldest first.")


@strawberry.input(description="What a rule matches; empty or null fields match anything.")
class RuleMatchInput:
    path_prefix: str = ""
    path_glob: str = ""
    containers: list[str] = strawberry.field(default_factory=list, description="Any of (ffprobe format names).")
    video_codecs: list[str] = strawberry.field(default_factory=list, description="Any of (h264, hevc, prores, …).")
    audio_codecs: list[str] = strawberry.field(default_factory=list)
    min_duration: float | None = None
    max_duration: float | None = None
    min_width: int | None = None
    max_width: int | None = None
    min_height: int | None = None
    max_height: int | None = None
    tags: list[str] = strawberry.field(default_factory=list, description="All of these.")


@strawberry.input(description="A new rule: a match, and presetId or templateId.")
class RuleInput:
    name: str
    match: RuleMatchInput = strawberry.field(default_factory=RuleMatchInput)
    preset_id: strawberry.ID | None = None
    template_id: strawberry.ID | None = None
    enabled: bool = True
    priority: int = 0
    output_pattern: str = "{stem}-{preset}"


@strawberry.input(description="Rule fields to change; omitted fields stay as they are (a given match replaces "
                             "the whole match). Set presetId or templateId to switch the action.")
class RuleUpdateInput:
    name: str | None = strawberry.UNSET
    match: RuleMatchInput | None = strawberry.UNSET
    preset_id: strawberry.ID | None = strawberry.UNSET
    template_id: strawberry.ID | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET
    priority: int | None = strawberry.UNSET
    output_pattern: str | None = strawberry.UNSET


def _match(value: RuleMatchInput) -> RuleMatch:
    raw = {name: getattr(value, name) for name in _MATCH_FIELDS}
    for name in ("containers", "video_codecs", "audio_codecs", "tags"):
        raw[name] = tuple(raw[name] or ())
    for name in ("path_prefix", "path_glob"):
        raw[name] = raw[name] or ""
    try:
        return validate_match(RuleMatch(**raw))
    except RuleMatchError as exc:
        raise _invalid(f"match.{exc.field}", exc.message) from None


def _name(value) -> str:
    name = unicodedata.normalize("NFC", value or "").strip()
    if not name or len(name) > MAX_NAME or any(unicodedata.category(c) == "Cc" for c in name):
        raise _invalid("name", f"a rule needs a name of 1 to {MAX_NAME} printable characters")
    return name


async def _action(preset_id, template_id) -> tuple[int | None, int | None]:
    if (preset_id is None) == (template_id is None):
        raise _invalid("presetId", "give presetId (one output) or templateId (an output template), not both")
    if preset_id is not None:
        pid = parse_id(preset_id, "presetId")
        if not await TranscodePreset.exists().where(TranscodePreset.id == pid):
            raise _invalid("presetId", f"preset {pid} does not exist")
        return pid, None
    tid = parse_id(template_id, "templateId")
    if not await OutputTemplate.exists().where(OutputTemplate.id == tid):
        raise _invalid("templateId", f"template {tid} does not exist")
    return None, tid


def _pattern(value) -> str:
    try:
        return check_pattern(value or "")
    except ValueError as exc:
        raise _invalid("outputPattern", str(exc)) from None


async def _name_taken(name: str, except_id: int | None = None) -> bool:
    query = AutomationRule.exists().where(AutomationRule.name == name)
    if except_id is not None:
        query = query.where(AutomationRule.id != except_id)
    return await query


async def _row(rule_id: int) -> dict:
    row = await AutomationRule.select().where(AutomationRule.id == rule_id).first()
    if row is None:
        raise not_found("rule", rule_id)
    return row


async def _load(rule_id: int) -> Rule:
    return Rule.from_row(await _row(rule_id), (await rule_service.counts([rule_id]))[rule_id])


async def _columns(name, match: RuleMatch, preset_id, template_id, enabled, priority, pattern, rule_id=None) -> dict:
    name = _name(name)
    if await _name_taken(name, rule_id):
        raise _invalid("name", f"a rule named {name!r} exists; choose another name")
    pid, tid = await _action(preset_id, template_id)
    if not -1000 <= int(priority) <= 1000:
        raise _invalid("priority", "priority must be between -1000 and 1000")
    return {"name": name, **match.columns(), "preset_id": pid, "template_id": tid, "enabled": bool(enabled),
            "priority": int(priority), "output_pattern": _pattern(pattern)}


@strawberry.type
class RuleQueries:
    @strawberry.field(description="Every automation rule, highest priority first, with what each has done.")
    async def rules(self, info: strawberry.Info) -> list[Rule]:
        rows = await AutomationRule.select().order_by(AutomationRule.priority, ascending=False).order_by(
            AutomationRule.id)
        counts = await rule_service.counts([r["id"] for r in rows])
        return [Rule.from_row(r, counts[r["id"]]) for r in rows]

    @strawberry.field(description="Dry run: the ready input assets this match selects now (before saving a rule).")
    async def rule_matches(self, info: strawberry.Info, input: RuleMatchInput, first: int = 20) -> RuleMatches:
        if not 0 <= first <= MAX_DRY_RUN:
            raise _invalid("first", f"first must be between 0 and {MAX_DRY_RUN}")
        rows, total = await rule_service.dry_run(_match(input), limit=first)
        return RuleMatches(total=total, assets=[MediaAsset.from_row(r) for r in rows])


@strawberry.type
class RuleMutations:
    @strawberry.mutation(description="Create an automation rule (it fires for assets that become ready from now on).")
    async def create_rule(self, info: strawberry.Info, input: RuleInput) -> Rule:
        columns = await _columns(input.name, _match(input.match), input.preset_id, input.template_id,
                                 input.enabled, input.priority, input.output_pattern)
        identity = api(info).identity
        row = AutomationRule(**columns, created_by=identity.user_id if identity is not None else None)
        await row.save()
        return await _load(row.id)

    @strawberry.mutation(description="Change a rule; jobs it already made stay as they are.")
    async def update_rule(self, id: strawberry.ID, input: RuleUpdateInput) -> Rule:
        rule_id = parse_id(id, "rule id")
        row = await _row(rule_id)
        changes = given(input)
        if "preset_id" in changes or "template_id" in changes:  # switching the action: the other one goes
            preset_id, template_id = changes.get("preset_id"), changes.get("template_id")
        else:
            preset_id, template_id = row["preset_id"], row["template_id"]
        match = _match(changes["match"]) if changes.get("match") is not None else RuleMatch.from_row(row)

        def pick(name):
            return changes[name] if changes.get(name) is not None else row[name]

        columns = await _columns(pick("name"), match, preset_id, template_id, pick("enabled"), pick("priority"),
                                 pick("output_pattern"), rule_id)
        await AutomationRule.update({getattr(AutomationRule, k): v for k, v in columns.items()}).where(
            AutomationRule.id == rule_id)
        return await _load(rule_id)

    @strawberry.mutation(description="Delete a rule (its firing records go with it; the jobs it made stay).")
    async def delete_rule(self, id: strawberry.ID) -> DeleteResult:
        rule_id = parse_id(id, "rule id")
        row = await _row(rule_id)
        await AutomationRule.delete().where(AutomationRule.id == rule_id)
        return DeleteResult(id=strawberry.ID(str(rule_id)), deleted=True, removed_files=[], removed_jobs=0,
                            message=f"deleted rule {row['name']!r}")
