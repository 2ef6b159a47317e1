"""TranscodeJob.spec: the JobSpec (backend.pipeline.spec) an attempt ran with, so what ran is on record."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T12:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "job spec on record"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)

    manager.add_column(
        table_class_name="TranscodeJob",
        tablename="transcode_job",
        column_name="spec",
        db_column_name="spec",
        column_class_name="JSON",
        column_class=JSON,
        params={
            "default": "{}",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
