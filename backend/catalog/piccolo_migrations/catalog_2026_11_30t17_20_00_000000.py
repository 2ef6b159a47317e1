"""Automation rules (issue 18): `automation_rule` (what to match, which preset or template to run)
and `automation_rule_firing` (one row per rule × asset version: the idempotency key and the job made).

Hand-written in the form Piccolo's auto-migrations use; the columns are frozen here, not imported
from `backend.catalog.tables`.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    JSON,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-11-30T17:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "automation rules and their firings"


class MediaAsset(Table, tablename="media_asset", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree,
                choices=None, db_column_name="id", secret=False)


class AutomationRule(Table, tablename="automation_rule", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree,
                choices=None, db_column_name="id", secret=False)


def _params(**given) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(given)
    return params


def _fk(references) -> tuple:
    return ForeignKey, _params(references=references, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade,
                               target_column=None, null=True, index=True)


NEW_TABLES = {
    ("AutomationRule", "automation_rule"): {
        "name": (Varchar, _params(length=128, default="", unique=True)),
        "enabled": (Boolean, _params(default=True)),
        "priority": (Integer, _params(default=0)),
        "path_glob": (Varchar, _params(length=512, default="")),
        "path_prefix": (Varchar, _params(length=512, default="")),
        "containers": (JSON, _params(default="[]")),
        "video_codecs": (JSON, _params(default="[]")),
        "audio_codecs": (JSON, _params(default="[]")),
        "min_duration": (DoublePrecision, _params(default=None, null=True)),
        "max_duration": (DoublePrecision, _params(default=None, null=True)),
        "min_width": (Integer, _params(default=None, null=True)),
        "max_width": (Integer, _params(default=None, null=True)),
        "min_height": (Integer, _params(default=None, null=True)),
        "max_height": (Integer, _params(default=None, null=True)),
        "tags": (JSON, _params(default="[]")),
        "preset_id": (Integer, _params(default=None, null=True)),
        "template_id": (Integer, _params(default=None, null=True)),
        "output_pattern": (Varchar, _params(length=256, default="{stem}-{preset}")),
        "created_by": (Integer, _params(default=None, null=True)),
        "created_at": (Timestamptz, _params(default=TimestamptzNow())),
        "updated_at": (Timestamptz, _params(default=TimestamptzNow())),
    },
    ("RuleFiring", "automation_rule_firing"): {
        "rule": _fk(AutomationRule),
        "asset": _fk(MediaAsset),
        "fire_key": (Varchar, _params(length=200, default="", unique=True)),
        "job_id": (Integer, _params(default=None, null=True)),
        "error": (Text, _params(default="")),
        "created_at": (Timestamptz, _params(default=TimestamptzNow())),
    },
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)
    for class_name, tablename in NEW_TABLES:
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
    for (class_name, tablename), columns in NEW_TABLES.items():
        for name, (column_class, params) in columns.items():
            manager.add_column(
                table_class_name=class_name, tablename=tablename, column_name=name, db_column_name=name,
                column_class_name=column_class.__name__, column_class=column_class, params=dict(params),
                schema=None,
            )
    return manager
