"""Access records: roles, server-side sessions and login links, personal API tokens, the audit log;
`created_by` on assets and jobs.

Written by hand in the form Piccolo's auto-migrations use (one add_column per column, so a new
table is created with all of them in one CREATE TABLE); the columns are frozen here, not
imported from `backend.catalog.tables`.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "users' roles, sessions, api tokens, audit log, creators"


def _params(**given) -> dict:
    params = {"null": False, "primary_key": False, "unique": False, "index": False,
              "index_method": IndexMethod.btree, "choices": None, "db_column_name": None, "secret": False}
    params.update(given)
    return params


def _varchar(length: int, default: str = "", **extra) -> tuple:
    return Varchar, _params(length=length, default=default, **extra)


def _int(**extra) -> tuple:
    return Integer, _params(default=0, **extra)


def _nullable_int() -> tuple:
    return Integer, _params(default=None, null=True)


def _now(**extra) -> tuple:
    return Timestamptz, _params(default=TimestamptzNow(), **extra)


def _nullable_time() -> tuple:
    return Timestamptz, _params(default=None, null=True)


NEW_TABLES = {
    ("UserRole", "mpr_user_role"): {
        "user_id": _int(unique=True),
        "role": _varchar(16, "viewer"),
    },
    ("UserSession", "mpr_session"): {
        "token_hash": _varchar(64, unique=True),
        "kind": _varchar(8, "session"),
        "user_id": _int(index=True),
        "created_at": _now(),
        "expires_at": _now(),
        "revoked_at": _nullable_time(),
        "client": _varchar(64),
    },
    ("ApiToken", "mpr_api_token"): {
        "user_id": _int(index=True),
        "name": _varchar(128),
        "prefix": _varchar(16, unique=True),
        "secret_hash": _varchar(64),
        "scope": _varchar(8, "read"),
        "created_at": _now(),
        "expires_at": _nullable_time(),
        "last_used_at": _nullable_time(),
        "revoked_at": _nullable_time(),
    },
    ("AuditEvent", "mpr_audit_event"): {
        "at": _now(index=True),
        "actor": _varchar(200),
        "user_id": _nullable_int(),
        "token_id": _nullable_int(),
        "action": _varchar(64),
        "object_type": _varchar(32),
        "object_id": _varchar(64),
        "ok": (Boolean, _params(default=True)),
        "detail": (Text, _params(default="")),
        "client": _varchar(64),
    },
}

NEW_COLUMNS = {
    ("MediaAsset", "media_asset"): {"created_by": _nullable_int()},
    ("TranscodeJob", "transcode_job"): {"created_by": _nullable_int()},
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
