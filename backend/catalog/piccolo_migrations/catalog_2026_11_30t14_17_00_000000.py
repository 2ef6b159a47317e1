"""Output templates (issue 17): the `output_template` table, and on `transcode_job` the template a
several-output job came from, its snapshot, the per-output records and the package's playlist key."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Boolean, DoublePrecision, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T14:17:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "output templates, several outputs per job"


def _params(**overrides) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(overrides)
    return params


TEMPLATE_COLUMNS = (
    ("name", Varchar, _params(length=128, default="", unique=True)),
    ("description", Text, _params(default="")),
    ("builtin", Boolean, _params(default=False)),
    ("outputs", JSON, _params(default="[]")),
    ("segment_seconds", DoublePrecision, _params(default=4.0)),
    ("packaging", Varchar, _params(length=16, default="hls+dash")),
    ("created_at", Timestamptz, _params(default=TimestamptzNow())),
    ("updated_at", Timestamptz, _params(default=TimestamptzNow())),
)

JOB_COLUMNS = (
    ("template_id", Integer, _params(default=None, null=True)),
    ("template_snapshot", JSON, _params(default="{}")),
    ("outputs", JSON, _params(default="[]")),
    ("playback_key", Varchar, _params(length=1024, default="")),
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)
    manager.add_table(class_name="OutputTemplate", tablename="output_template", schema=None, columns=None)
    for name, cls, params in TEMPLATE_COLUMNS:
        manager.add_column(table_class_name="OutputTemplate", tablename="output_template", column_name=name,
                           db_column_name=name, column_class_name=cls.__name__, column_class=cls,
                           params=params, schema=None)
    for name, cls, params in JOB_COLUMNS:
        manager.add_column(table_class_name="TranscodeJob", tablename="transcode_job", column_name=name,
                           db_column_name=name, column_class_name=cls.__name__, column_class=cls,
                           params=params, schema=None)
    return manager
