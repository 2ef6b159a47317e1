"""B-tree indexes for the library's sort orders (name, duration, size, date; with and without the
area filter), on SQLite and PostgreSQL: a sorted page at 100,000 assets reads its rows off an
index instead of sorting the table. The statements are `tables.LIBRARY_ORDER_DDL`
(`db.create_tables` runs them for the benches too).
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T19:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "library sort-order indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="catalog", description=DESCRIPTION)

    async def run():
        from backend.catalog.tables import LIBRARY_ORDER_DDL

        engine = engine_finder()
        for statement in LIBRARY_ORDER_DDL:
            await engine._run_in_new_connection(statement)

    manager.add_raw(run)
    return manager
