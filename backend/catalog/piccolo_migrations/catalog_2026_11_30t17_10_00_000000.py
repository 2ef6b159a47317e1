"""Webhooks (issue 18): the endpoints events are POSTed to, and the outbox of deliveries.

Hand-written in the form Piccolo's auto-migrations use; the columns are frozen here, not imported
from `backend.catalog.tables`.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import JSON, Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table

ID = "2026-11-30T17:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook endpoints and their delivery outbox"


class WebhookEndpoint(Table, tablename="mpr_webhook_endpoint", schema=None):
    id = Serial(null=False, primary_key=True, unique=False, index=False, index_method=IndexMethod.btree,
                choices=None, db_column_name="id", secret=False)


def _params(**given) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(given)
    return params


def _varchar(length: int, default: str = "", **extra) -> tuple:
    return Varchar, _params(length=length, default=default, **extra)


def _nullable_int() -> tuple:
    return Integer, _params(default=None, null=True)


NEW_TABLES = {
    ("WebhookEndpoint", "mpr_webhook_endpoint"): {
        "url": _varchar(2048),
        "secret": _varchar(128, secret=True),
        "event_types": (JSON, _params(default="[]")),
        "description": _varchar(256),
        "active": (Boolean, _params(default=True)),
        "created_by": _nullable_int(),
        "created_at": (Timestamptz, _params(default=TimestamptzNow())),
    },
    ("WebhookDelivery", "mpr_webhook_delivery"): {
        "endpoint": (ForeignKey, _params(references=WebhookEndpoint, on_delete=OnDelete.cascade,
                                         on_update=OnUpdate.cascade, target_column=None, null=True, index=True)),
        "event_id": _varchar(64, index=True),
        "event_type": _varchar(32),
        "subject": _varchar(64, index=True),
        "body": (Text, _params(default="")),
        "status": _varchar(16, "pending", index=True),
        "attempts": (Integer, _params(default=0)),
        "next_attempt_at": (Timestamptz, _params(default=TimestamptzNow())),
        "last_attempt_at": (Timestamptz, _params(default=None, null=True)),
        "response_code": _nullable_int(),
        "latency_ms": _nullable_int(),
        "error": (Text, _params(default="")),
        "redelivery_of": _nullable_int(),
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
