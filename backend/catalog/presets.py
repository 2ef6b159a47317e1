"""Presets in the catalog: seed the builtin library (`backend.media.presets.BUILTIN_PRESETS`) into
`TranscodePreset` rows, and turn a row back into the `PresetSpec` that `backend.media` works with.
"""
from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any

from backend.catalog.tables import TranscodePreset
from backend.media.presets import BUILTIN_PRESETS, PresetSpec

log = logging.getLogger(__name__)

SPEC_FIELDS = tuple(f.name for f in fields(PresetSpec))


def _row_dict(row: Any) -> dict:
    return dict(row) if isinstance(row, dict) else {name: getattr(row, name) for name in SPEC_FIELDS}


def preset_spec_from_row(row: TranscodePreset | dict) -> PresetSpec:
    """The PresetSpec a `TranscodePreset` row (instance or `.select()` dict) describes."""
    return PresetSpec.from_dict(_row_dict(row))


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is None or b is None or abs(float(a) - float(b)) > 1e-9
    return a != b


async def seed_builtin_presets() -> int:
    """Insert missing builtin presets and bring changed ones up to date; return how many rows changed.

    Idempotent: a second call returns 0. A user preset (builtin=False) that already holds a builtin's
    name is left alone (it is the user's data) and logged; that builtin is then not available.
    """
    changed = 0
    existing = {row.name: row for row in await TranscodePreset.objects()}
    for spec in BUILTIN_PRESETS:
        wanted = spec.to_dict()
        row = existing.get(spec.name)
        if row is None:
            await TranscodePreset(**wanted, builtin=True).save()
            changed += 1
            continue
        if not row.builtin:
            log.warning("preset %r is a user preset; builtin of the same name not seeded", spec.name)
            continue
        diff = {k: v for k, v in wanted.items() if _differs(getattr(row, k), v)}
        if diff:
            await TranscodePreset.update(diff).where(TranscodePreset.id == row.id)
            changed += 1
    return changed
