"""Ids are never handed out twice: delete the newest job or asset and the next one gets a new id
(SQLite: AUTOINCREMENT, added by backend.catalog.sqlite_ids after the migrations; PostgreSQL:
sequences). Also: the rebuild keeps rows, ids, indexes and foreign keys of an existing database."""
from __future__ import annotations

import sqlite3

from backend.catalog import sqlite_ids
from backend.catalog.tables import MediaAsset, TranscodeJob
from backend.jobs import service


async def test_a_deleted_jobs_and_assets_id_is_not_reused(db, settings, storages, presets, add_asset):
    asset = await add_asset("small")
    first = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    await TranscodeJob.delete().where(TranscodeJob.id == first["id"])
    second = await service.create_job(settings, storages, source_id=asset["id"], preset_id=presets["H.264 480p"])
    assert second["id"] > first["id"]

    await MediaAsset.delete().where(MediaAsset.id == asset["id"])  # the newest asset, its jobs with it
    again = await add_asset("small")
    assert again["id"] > asset["id"]


async def test_every_sqlite_table_of_a_migrated_database_autoincrements(db):
    if not db.startswith("sqlite:///"):
        assert db.startswith("postgres")  # sequences: nothing to rebuild
        return
    path = db[len("sqlite:///"):]
    assert sqlite_ids.missing_autoincrement(path) == []
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_sequence")}
    assert {"media_asset", "transcode_job", "job_transition", "transcode_preset", "mpr_audit_event"} <= names


def test_the_rebuild_keeps_rows_indexes_and_foreign_keys(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript('''
            CREATE TABLE "parent" ("id" INTEGER PRIMARY KEY NOT NULL, "name" VARCHAR(20) UNIQUE NOT NULL DEFAULT '');
            CREATE TABLE "child" ("id" INTEGER PRIMARY KEY NOT NULL,
                "parent" INTEGER REFERENCES "parent" ("id") ON DELETE CASCADE, "note" TEXT NOT NULL DEFAULT '');
            CREATE INDEX child_parent ON "child" ("parent");
            INSERT INTO parent (id, name) VALUES (1, 'a'), (5, 'b');
            INSERT INTO child (id, parent, note) VALUES (3, 5, 'x'), (9, 1, 'y');
        ''')
    assert set(sqlite_ids.missing_autoincrement(path)) == {"parent", "child"}
    assert set(sqlite_ids.ensure_autoincrement(path)) == {"parent", "child"}
    assert sqlite_ids.ensure_autoincrement(path) == []  # idempotent
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        assert conn.execute("SELECT id, name FROM parent ORDER BY id").fetchall() == [(1, "a"), (5, "b")]
        assert conn.execute("SELECT id, parent, note FROM child ORDER BY id").fetchall() == [(3, 5, "x"), (9, 1, "y")]
        assert "child_parent" in {r[1] for r in conn.execute("PRAGMA index_list(child)")}
        assert [(r[2], r[6]) for r in conn.execute("PRAGMA foreign_key_list(child)")] == [("parent", "CASCADE")]
        conn.execute("DELETE FROM parent WHERE id = 5")  # cascades (the foreign key survived the rebuild)
        assert conn.execute("SELECT id FROM child").fetchall() == [(9,)]
        conn.execute("INSERT INTO parent (name) VALUES ('c')")
        assert conn.execute("SELECT max(id) FROM parent").fetchone() == (6,)  # 5 is never handed out again
        conn.commit()
    finally:
        conn.close()
