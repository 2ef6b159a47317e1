"""Preset mutations: createPreset, updatePreset, deletePreset. Builtin presets are read-only."""
from __future__ import annotations

import strawberry

from backend.api.graphql.ids import parse_id
from backend.api.graphql.inputs import PresetInput, PresetUpdateInput, given
from backend.api.graphql.types import DeleteResult, TranscodePreset
from backend.catalog.presets import preset_spec_from_row
from backend.catalog.tables import TranscodePreset as PresetTable
from backend.jobs.errors import DomainError, not_found
from backend.media.presets import PresetError, PresetSpec, validate_preset


def _validated(fields: dict) -> PresetSpec:
    fields = dict(fields)
    fields["name"] = (fields.get("name") or "").strip()
    if not fields["name"]:
        raise _invalid("name", "name cannot be empty")
    if len(fields["name"]) > 128:
        raise _invalid("name", "name is longer than 128 characters")
    try:
        return validate_preset(PresetSpec.from_dict(fields))
    except PresetError as exc:
        raise _invalid(exc.field, exc.message) from None
    except (TypeError, ValueError) as exc:
        raise _invalid("", str(exc)) from None


def _invalid(field: str, message: str) -> DomainError:
    err = DomainError("INVALID_PRESET", message)
    err.field = field
    return err


async def _name_taken(name: str, except_id: int | None = None) -> bool:
    query = PresetTable.exists().where(PresetTable.name == name)
    if except_id is not None:
        query = query.where(PresetTable.id != except_id)
    return await query


async def _editable(preset_id: int) -> dict:
    row = await PresetTable.select().where(PresetTable.id == preset_id).first()
    if row is None:
        raise not_found("preset", preset_id)
    if row["builtin"]:
        raise DomainError("PRESET_READ_ONLY", f"preset {row['name']!r} is builtin and read-only; create your own instead")
    return row


def _columns(spec: PresetSpec) -> dict:
    return {getattr(PresetTable, k): v for k, v in spec.to_dict().items()}


@strawberry.type
class PresetMutations:
    @strawberry.mutation
    async def create_preset(self, input: PresetInput) -> TranscodePreset:
        spec = _validated(vars(input))
        if await _name_taken(spec.name):
            raise _invalid("name", f"a preset named {spec.name!r} exists; choose another name")
        row = PresetTable(**spec.to_dict(), builtin=False)
        await row.save()
        return TranscodePreset.from_row(await PresetTable.select().where(PresetTable.id == row.id).first())

    @strawberry.mutation
    async def update_preset(self, id: strawberry.ID, input: PresetUpdateInput) -> TranscodePreset:
        preset_id = parse_id(id, "preset id")
        row = await _editable(preset_id)
        merged = {**preset_spec_from_row(row).to_dict(), **given(input)}
        spec = _validated(merged)
        if await _name_taken(spec.name, except_id=preset_id):
            raise _invalid("name", f"a preset named {spec.name!r} exists; choose another name")
        await PresetTable.update(_columns(spec)).where(PresetTable.id == preset_id)
        return TranscodePreset.from_row(await PresetTable.select().where(PresetTable.id == preset_id).first())

    @strawberry.mutation(description="Delete a user preset; jobs keep their presetSnapshot.")
    async def delete_preset(self, id: strawberry.ID) -> DeleteResult:
        preset_id = parse_id(id, "preset id")
        row = await _editable(preset_id)
        await PresetTable.delete().where(PresetTable.id == preset_id)
        return DeleteResult(id=strawberry.ID(str(preset_id)), deleted=True, removed_files=[], removed_jobs=0,
                            message=f"deleted preset {row['name']!r}")
