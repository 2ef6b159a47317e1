"""One asset per stored object (unique storage location) and an index for claiming jobs.

Piccolo's column options cannot express a unique pair on SQLite, so this is raw DDL that runs on both.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-28T17:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique asset location, claim index"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)

    async def run():
        from backend.catalog.tables import EXTRA_DDL

        engine = engine_finder()
        for statement in EXTRA_DDL:
            await engine._run_in_new_connection(statement)

    manager.add_raw(run)
    return manager
