"""Output template mutations: createTemplate, updateTemplate, deleteTemplate. Builtin templates are
read-only; every template is checked by `backend.media.templates.validate_template` (each output's
preset by `validate_preset`), and a refusal names the field (`extensions.field`)."""
from __future__ import annotations

import strawberry

from backend.api.graphql.ids import parse_id
from backend.api.graphql.inputs import TemplateInput, TemplateOutputInput, TemplateUpdateInput, given
from backend.api.graphql.types import DeleteResult, OutputTemplate
from backend.catalog.presets import preset_spec_from_row
from backend.catalog.tables import OutputTemplate as TemplateTable
from backend.catalog.tables import TranscodePreset as PresetTable
from backend.catalog.templates import template_columns, template_spec_from_row
from backend.jobs.errors import DomainError, not_found
from backend.media.presets import PresetSpec
from backend.media.templates import TemplateError, TemplateOutput, TemplateSpec, validate_template


def _invalid(field: str, message: str) -> DomainError:
    err = DomainError("INVALID_TEMPLATE", message)
    err.field = field
    return err


async def _output(index: int, out: TemplateOutputInput) -> TemplateOutput:
    if out.preset_id is not None and out.preset is not None:
        raise _invalid(f"outputs[{index}]", "give presetId or preset, not both")
    preset = None
    if out.preset_id is not None:
        row = await PresetTable.select().where(PresetTable.id == parse_id(out.preset_id, "presetId")).first()
        if row is None:
            raise _invalid(f"outputs[{index}].presetId", f"preset {out.preset_id} does not exist")
        preset = preset_spec_from_row(row)
    elif out.preset is not None:
        try:
            preset = PresetSpec.from_dict(vars(out.preset))
        except (TypeError, ValueError) as exc:
            raise _invalid(f"outputs[{index}].preset", str(exc)) from None
    return TemplateOutput(role=out.role, preset=preset, interval=out.interval)


async def _validated(fields: dict) -> TemplateSpec:
    outputs = fields.get("outputs") or []
    if outputs and not isinstance(outputs[0], TemplateOutput):
        outputs = [await _output(i, o) for i, o in enumerate(outputs)]
    try:
        return validate_template(TemplateSpec(
            name=fields.get("name") or "", outputs=tuple(outputs), description=fields.get("description") or "",
            segment_seconds=fields.get("segment_seconds") if fields.get("segment_seconds") is not None else 4.0,
            packaging=fields.get("packaging") or "hls+dash"))
    except TemplateError as exc:
        raise _invalid(exc.field, exc.message) from None


async def _name_taken(name: str, except_id: int | None = None) -> bool:
    query = TemplateTable.exists().where(TemplateTable.name == name)
    if except_id is not None:
        query = query.where(TemplateTable.id != except_id)
    return await query


async def _editable(template_id: int) -> dict:
    row = await TemplateTable.select().where(TemplateTable.id == template_id).first()
    if row is None:
        raise not_found("template", template_id)
    if row["builtin"]:
        raise DomainError("TEMPLATE_READ_ONLY",
                          f"template {row['name']!r} is builtin and read-only; create your own instead")
    return row


async def _load(template_id: int) -> OutputTemplate:
    return OutputTemplate.from_row(await TemplateTable.select().where(TemplateTable.id == template_id).first())


@strawberry.type
class TemplateMutations:
    @strawberry.mutation(description="Create an output template (a named list of outputs, each a preset plus a role).")
    async def create_template(self, input: TemplateInput) -> OutputTemplate:
        spec = await _validated(vars(input))
        if await _name_taken(spec.name):
            raise _invalid("name", f"a template named {spec.name!r} exists; choose another name")
        row = TemplateTable(**template_columns(spec), builtin=False)
        await row.save()
        return await _load(row.id)

    @strawberry.mutation
    async def update_template(self, id: strawberry.ID, input: TemplateUpdateInput) -> OutputTemplate:
        template_id = parse_id(id, "template id")
        current = template_spec_from_row(await _editable(template_id))
        merged = {"name": current.name, "description": current.description, "outputs": list(current.outputs),
                  "segment_seconds": current.segment_seconds, "packaging": current.packaging, **given(input)}
        spec = await _validated(merged)
        if await _name_taken(spec.name, except_id=template_id):
            raise _invalid("name", f"a template named {spec.name!r} exists; choose another name")
        await TemplateTable.update({getattr(TemplateTable, k): v for k, v in template_columns(spec).items()}).where(
            TemplateTable.id == template_id)
        return await _load(template_id)

    @strawberry.mutation(description="Delete a user template; jobs keep their templateSnapshot.")
    async def delete_template(self, id: strawberry.ID) -> DeleteResult:
        template_id = parse_id(id, "template id")
        row = await _editable(template_id)
        await TemplateTable.delete().where(TemplateTable.id == template_id)
        return DeleteResult(id=strawberry.ID(str(template_id)), deleted=True, removed_files=[], removed_jobs=0,
                            message=f"deleted template {row['name']!r}")
