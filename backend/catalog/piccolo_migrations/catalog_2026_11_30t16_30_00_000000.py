"""The asset's B-frame reordering depth (`reorder_delay`, ffprobe's has_b_frames): a stream copy's
cuts are made on decode times, and it says how far those run ahead of presentation times.
Hand-written: the same column as `tables.py`.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T16:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "asset reorder_delay"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)
    manager.add_column(
        table_class_name="MediaAsset", tablename="media_asset", column_name="reorder_delay",
        db_column_name="reorder_delay", column_class_name="Integer", column_class=Integer,
        params={"default": None, "null": True, "primary_key": False, "unique": False, "index": False,
                "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
                "secret": False},
        schema=None,
    )
    return manager
