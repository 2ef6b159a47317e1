"""Seeding builtin presets into the catalog is idempotent and repairs drift; rows map back to PresetSpec."""
from __future__ import annotations

from backend.catalog.presets import preset_spec_from_row, seed_builtin_presets
from backend.catalog.tables import TranscodePreset
from backend.media.presets import BUILTIN_PRESETS


async def test_seed_is_idempotent(db):
    assert await seed_builtin_presets() == len(BUILTIN_PRESETS)
    assert await seed_builtin_presets() == 0
    rows = await TranscodePreset.objects().order_by(TranscodePreset.id)
    assert len(rows) == len(BUILTIN_PRESETS)
    assert all(r.builtin for r in rows)
    specs = {s.name: s for s in BUILTIN_PRESETS}
    for row in rows:
        assert preset_spec_from_row(row) == specs[row.name]
    for d in await TranscodePreset.select():
        assert preset_spec_from_row(d) == specs[d["name"]]


async def test_seed_repairs_changed_builtin_fields(db):
    await seed_builtin_presets()
    first = BUILTIN_PRESETS[0]
    await TranscodePreset.update({TranscodePreset.description: "tampered", TranscodePreset.fps: 7.5}).where(
        TranscodePreset.name == first.name
    )
    assert await seed_builtin_presets() == 1
    row = await TranscodePreset.objects().where(TranscodePreset.name == first.name).first()
    assert preset_spec_from_row(row) == first
    assert await TranscodePreset.count() == len(BUILTIN_PRESETS)


async def test_seed_leaves_user_presets_alone(db):
    clash = BUILTIN_PRESETS[0]
    await TranscodePreset(name=clash.name, kind="audio", container="m4a", audio_codec="aac", builtin=False).save()
    await TranscodePreset(name="my own", kind="audio", container="m4a", audio_codec="aac").save()
    assert await seed_builtin_presets() == len(BUILTIN_PRESETS) - 1
    kept = await TranscodePreset.objects().where(TranscodePreset.name == clash.name).first()
    assert (kept.builtin, kept.kind) == (False, "audio")
    assert await TranscodePreset.count() == len(BUILTIN_PRESETS) + 1
