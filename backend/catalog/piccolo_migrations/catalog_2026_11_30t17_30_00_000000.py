"""Sequences (issue 15): the `mpr_sequence` table and, on jobs, the sequence a render came from
and its snapshot. Hand-written in the form Piccolo's auto-migrations use; the columns are frozen
here, not imported from `backend.catalog.tables`.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T17:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sequences, and the sequence of a sequence render"


def _params(**given) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(given)
    return params


NEW_TABLES = {
    ("Sequence", "mpr_sequence"): {
        "name": (Varchar, _params(length=200, default="")),
        "clips": (JSON, _params(default="[]")),
        "created_by": (Integer, _params(default=None, null=True)),
        "created_at": (Timestamptz, _params(default=TimestamptzNow())),
        "updated_at": (Timestamptz, _params(default=TimestamptzNow())),
    },
}

NEW_COLUMNS = {
    ("TranscodeJob", "transcode_job"): {
        "sequence_id": (Integer, _params(default=None, null=True)),
        "sequence_snapshot": (JSON, _params(default="{}")),
    },
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)
    for class_name, tablename in NEW_TABLES:
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
    for group in (NEW_TABLES, NEW_COLUMNS):
        for (class_name, tablename), columns in group.items():
            for name, (column_class, params) in columns.items():
                manager.add_column(
                    table_class_name=class_name, tablename=tablename, column_name=name, db_column_name=name,
                    column_class_name=column_class.__name__, column_class=column_class, params=dict(params),
                    schema=None,
                )
    return manager
