"""Output templates in the catalog: seed the builtin library (`backend.media.templates.BUILTIN_TEMPLATES`)
into `OutputTemplate` rows, and turn a row back into the `TemplateSpec` that `backend.media` works with.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from backend.catalog.tables import OutputTemplate
from backend.media.templates import BUILTIN_TEMPLATES, TemplateSpec

log = logging.getLogger(__name__)


def _value(row: Any, name: str):
    return row.get(name) if isinstance(row, dict) else getattr(row, name)


def template_spec_from_row(row: OutputTemplate | dict) -> TemplateSpec:
    """The TemplateSpec an `OutputTemplate` row (instance or `.select()` dict) describes."""
    outputs = _value(row, "outputs")
    if isinstance(outputs, str):
        outputs = json.loads(outputs or "[]")
    return TemplateSpec.from_dict({"name": _value(row, "name"), "description": _value(row, "description"),
                                   "segment_seconds": _value(row, "segment_seconds"),
                                   "packaging": _value(row, "packaging"), "outputs": outputs})


def template_columns(spec: TemplateSpec) -> dict[str, Any]:
    """Column values of a row holding `spec`."""
    data = spec.to_dict()
    return {"name": data["name"], "description": data["description"], "outputs": data["outputs"],
            "segment_seconds": data["segment_seconds"], "packaging": data["packaging"]}


async def seed_builtin_templates() -> int:
    """Insert missing builtin templates and bring changed ones up to date; how many rows changed.
    Idempotent. A user template holding a builtin's name is left alone (and logged)."""
    changed = 0
    existing = {row.name: row for row in await OutputTemplate.objects()}
    for spec in BUILTIN_TEMPLATES:
        wanted = template_columns(spec)
        row = existing.get(spec.name)
        if row is None:
            await OutputTemplate(**wanted, builtin=True).save()
            changed += 1
            continue
        if not row.builtin:
            log.warning("template %r is a user template; builtin of the same name not seeded", spec.name)
            continue
        if template_spec_from_row(row).to_dict() != spec.to_dict():
            await OutputTemplate.update({getattr(OutputTemplate, k): v for k, v in wanted.items()}).where(
                OutputTemplate.id == row.id)
            changed += 1
    return changed
