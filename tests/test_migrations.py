"""The migrations build exactly the schema the Piccolo tables declare, on SQLite and PostgreSQL.

Users get their database from `mpr migrate` (and so does every test: tests/conftest.py); the app
reads and writes it through the Table classes. These tests migrate an empty database and compare
every table — columns with their types, nullability and defaults, indexes, unique constraints,
foreign keys — with a reference database built straight from the Table classes the app registers
(tests/schema_shape.py reads both back from the engine). Expectations come from the Table
classes, so a new column or table is covered the day it is declared: declared but not migrated
(or migrated differently) fails here. An upgrade test applies only the first migration, stores
rows, then migrates forwards: the rows must survive and the schema must end up the same.
"""
from __future__ import annotations

import importlib
import json
import sqlite3
import uuid
from contextlib import asynccontextmanager

import pytest
from asyncpg.exceptions import UniqueViolationError
from piccolo.querystring import QueryString as QS
from piccolo.table import Table, create_db_tables

from backend.catalog import db as catalog_db
from backend.catalog.engine import engine_from_url
from backend.catalog.tables import JobTransition, MediaAsset, TranscodeJob, TranscodePreset, engine_ddl

from dbmigrate import catalog_migration_ids, forwards_to, migrate
from pgtest import PG_ADMIN_URL, pg_url
from schema_shape import differences, schema_shape

ENGINES = ["sqlite", "postgres"]


@asynccontextmanager
async def empty_database(kind: str, folder, name: str):
    """(url, engine) of a new empty database, dropped afterwards (PostgreSQL)."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'{name}.sqlite'}"
        yield url, engine_from_url(url)
        return
    dbname = f"mpr_mig_{name}_{uuid.uuid4().hex[:8]}"
    await catalog_db.create_postgres_database(PG_ADMIN_URL, dbname)
    try:
        yield pg_url(dbname), engine_from_url(pg_url(dbname))
    finally:
        await catalog_db.drop_postgres_database(PG_ADMIN_URL, dbname)


def declared_tables(monkeypatch, tmp_path) -> list[type[Table]]:
    """Every Table class of every app piccolo_conf registers (the catalog, users, admin sessions)."""
    monkeypatch.setenv("MPR_DATABASE_URL", f"sqlite:///{tmp_path / 'conf.sqlite'}")  # importing it opens DB
    conf = importlib.import_module("piccolo_conf")
    tables = [t for app in conf.APP_REGISTRY.app_configs.values() for t in app.table_classes]
    assert {MediaAsset, TranscodePreset, TranscodeJob, JobTransition} <= set(tables)
    assert set(catalog_db.AUTH_TABLES) <= set(tables)
    return tables


async def reference_shape(kind: str, tables, tmp_path) -> dict:
    """The schema the Table classes declare: `create_db_tables` of exactly those classes in an empty
    database of the same engine, plus the catalog's extra DDL (a unique pair, the claim index)."""
    async with empty_database(kind, tmp_path, "reference") as (_, engine):
        for table in tables:
            table._meta.db = engine
        await create_db_tables(*tables)
        for statement in engine_ddl(engine):
            await engine.run_querystring(QS(statement))
        shape = await schema_shape(engine)
    for table in tables:  # the reference really is the declarations: every declared column is there
        columns = {c._meta.db_column_name for c in table._meta.columns}
        assert set(shape[table._meta.tablename].columns) == columns, table
    return shape


@pytest.mark.parametrize("kind", ENGINES)
async def test_migrations_build_what_the_tables_declare(kind, tmp_path, monkeypatch):
    tables = declared_tables(monkeypatch, tmp_path)
    expected = await reference_shape(kind, tables, tmp_path)
    async with empty_database(kind, tmp_path, "migrated") as (url, engine):
        first = migrate(url, tmp_path)
        second = migrate(url, tmp_path)  # idempotent: nothing to run, presets unchanged
        actual = await schema_shape(engine)
        presets = await engine.run_querystring(QS("SELECT COUNT(*) AS n FROM transcode_preset WHERE builtin"))
        insert = "INSERT INTO media_asset (filename, storage_area, storage_key) VALUES ('a', 'in', 'a.mp4')"
        await engine.run_querystring(QS(insert))
        with pytest.raises((sqlite3.IntegrityError, UniqueViolationError), match="(?i)unique"):
            await engine.run_querystring(QS(insert))  # one asset per stored object
    assert differences(actual, expected) == []
    assert "builtin presets changed: 0" in second and "builtin presets changed: 0" not in first
    assert presets[0]["n"] >= 12


async def _store_rows(engine) -> None:
    """Rows in every catalog table, written with the columns the FIRST migration has (raw SQL: the
    Table classes may already declare columns a later migration adds)."""
    for sql, *args in (
        ("INSERT INTO media_asset (filename, storage_area, storage_key, size, duration, tags) "
         "VALUES ('cat.mp4', 'in', 'pets/cat.mp4', 1234, 12.5, {})", json.dumps(["pets"])),
        ("INSERT INTO transcode_preset (name, kind, container, video_codec, crf) "
         "VALUES ('mine', 'video', 'mp4', 'libx264', 21)",),
        ("INSERT INTO transcode_job (source, preset, output_key, status, progress, error, plan, preset_snapshot) "
         "SELECT a.id, p.id, 'out/cat-480p.mp4', 'failed', 42.0, 'ffmpeg said no', {}, {} "
         "FROM media_asset a, transcode_preset p", json.dumps({"mode": "single"}), json.dumps({"name": "mine"})),
        ("INSERT INTO job_transition (job, from_status, to_status, reason) "
         "SELECT id, 'running', 'failed', 'ffmpeg said no' FROM transcode_job",),
    ):
        await engine.run_querystring(QS(sql, *args))


@pytest.mark.parametrize("kind", ENGINES)
async def test_upgrade_from_the_first_migration_keeps_the_data(kind, tmp_path, monkeypatch):
    tables = declared_tables(monkeypatch, tmp_path)
    expected = await reference_shape(kind, tables, tmp_path)
    ids = catalog_migration_ids()
    assert len(ids) >= 2
    async with empty_database(kind, tmp_path, "upgraded") as (url, engine):
        forwards_to(url, tmp_path, ids[0])
        ran = await engine.run_querystring(QS("SELECT name FROM migration WHERE app_name = 'catalog'"))
        assert [r["name"] for r in ran] == ids[:1]
        await _store_rows(engine)
        migrate(url, tmp_path)  # forwards to the latest, as `mpr up` does after an update
        ran = await engine.run_querystring(QS("SELECT name FROM migration WHERE app_name = 'catalog'"))
        assert sorted(r["name"] for r in ran) == ids
        assert differences(await schema_shape(engine), expected) == []
        catalog_db.bind_engine(engine)  # read back through the Table classes: every declared column
        asset = await MediaAsset.select().where(MediaAsset.storage_key == "pets/cat.mp4").first()
        preset = await TranscodePreset.select().where(TranscodePreset.name == "mine").first()
        job = await TranscodeJob.select().output(load_json=True).first()
        transitions = await JobTransition.select()
    assert (asset["filename"], asset["size"], asset["duration"], asset["status"]) == ("cat.mp4", 1234, 12.5, "pending")
    assert (preset["video_codec"], preset["crf"], preset["builtin"]) == ("libx264", 21, False)
    assert (job["source"], job["preset"]) == (asset["id"], preset["id"])
    assert (job["status"], job["progress"], job["error"]) == ("failed", 42.0, "ffmpeg said no")
    assert job["plan"] == {"mode": "single"} and job["preset_snapshot"] == {"name": "mine"}
    assert job["attempt"] == 1 and job["executor"] == "local"  # defaults filled in for the old row
    assert [(t["job"], t["to_status"], t["reason"]) for t in transitions] == [(job["id"], "failed", "ffmpeg said no")]
