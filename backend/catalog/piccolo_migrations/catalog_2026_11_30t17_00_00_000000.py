"""The execution nonce of a job's dispatched attempt (issue 14): callbacks must sign the current
attempt's nonce, so one captured from an earlier attempt or an earlier job is refused.
Hand-written: the same column as `tables.py`.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "transcode_job.callback_nonce"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)
    manager.add_column(
        table_class_name="TranscodeJob", tablename="transcode_job", column_name="callback_nonce",
        db_column_name="callback_nonce", column_class_name="Varchar", column_class=Varchar,
        params={"length": 64, "default": "", "null": False, "primary_key": False, "unique": False,
                "index": False, "index_method": IndexMethod.btree, "choices": None, "db_column_name": None,
                "secret": False},
        schema=None,
    )
    return manager
