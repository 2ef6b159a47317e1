"""Asset analysis (waveform, scene cuts, black and silence ranges, EBU R128 loudness) and the
loudness-normalising preset options (issue 19). Hand-written: the same columns as `tables.py`.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, DoublePrecision, Integer, Text, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T14:45:19:000000"
VERSION = "1.38.0"
DESCRIPTION = "asset analysis columns, preset loudness target"

_ASSET_COLUMNS = (
    ("waveform_key", Varchar, {"length": 1024, "default": ""}),
    ("scene_cuts", JSON, {"default": "[]"}),
    ("keyframes", JSON, {"default": "[]"}),
    ("black_ranges", JSON, {"default": "[]"}),
    ("silence_ranges", JSON, {"default": "[]"}),
    ("loudness_integrated", DoublePrecision, {"default": None, "null": True}),
    ("loudness_threshold", DoublePrecision, {"default": None, "null": True}),
    ("loudness_range", DoublePrecision, {"default": None, "null": True}),
    ("loudness_true_peak", DoublePrecision, {"default": None, "null": True}),
    ("analysis_version", Integer, {"default": 0, "index": True}),
    ("analysis_error", Text, {"default": ""}),
)
_PRESET_COLUMNS = (
    ("loudness_target", DoublePrecision, {"default": None, "null": True}),
    ("true_peak_ceiling", DoublePrecision, {"default": None, "null": True}),
)


def _params(extra: dict) -> dict:
    return {
        "null": False, "primary_key": False, "unique": False, "index": False,
        "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False,
        **extra,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)
    for class_name, table, columns in (("MediaAsset", "media_asset", _ASSET_COLUMNS),
                                       ("TranscodePreset", "transcode_preset", _PRESET_COLUMNS)):
        for name, column_class, extra in columns:
            manager.add_column(
                table_class_name=class_name, tablename=table, column_name=name, db_column_name=name,
                column_class_name=column_class.__name__, column_class=column_class,
                params=_params(extra), schema=None,
            )
    return manager
