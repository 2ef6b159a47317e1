"""Trigram indexes (pg_trgm) for the substring search on asset filenames and tags and on job
output names, PostgreSQL only: `ILIKE '%text%'` cannot use a b-tree. SQLite has no such index and
gets nothing. The statements are `tables.POSTGRES_DDL` (`db.create_tables` runs them for the
benches too).
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-30T16:35:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "trigram search indexes (PostgreSQL)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)

    async def run():
        from backend.catalog.tables import POSTGRES_DDL

        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            for statement in POSTGRES_DDL:
                await engine._run_in_new_connection(statement)

    manager.add_raw(run)
    return manager
