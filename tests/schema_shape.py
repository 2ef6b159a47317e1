"""What a database's schema really is, read back from the database, in a form two engines' answers
and two databases' answers can be compared in: per table, its columns (type, nullability, default),
its indexes (columns, unique or not) and its constraints (primary key, unique, foreign keys with
their ON DELETE / ON UPDATE). Names the engine picks for indexes and constraints are left out:
only what they do is compared.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from piccolo.engine.base import Engine
from piccolo.querystring import QueryString as QS

PICCOLO_BOOKKEEPING = {"migration"}  # Piccolo's record of which migrations ran; no Table declares it


@dataclass
class TableShape:
    columns: dict[str, tuple] = field(default_factory=dict)  # name -> (type, not null, default)
    indexes: set[tuple] = field(default_factory=set)  # (unique, (columns...))
    constraints: set[str] = field(default_factory=set)  # normalised definitions


async def _rows(engine: Engine, sql: str, *args) -> list[dict]:
    return await engine.run_querystring(QS(sql, *args))


async def _sqlite_shape(engine: Engine) -> dict[str, TableShape]:
    tables = [r["name"] for r in await _rows(
        engine, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    shapes = {}
    for table in tables:
        shape = TableShape()
        for col in await _rows(engine, f'PRAGMA table_info("{table}")'):
            shape.columns[col["name"]] = (col["type"].upper(), bool(col["notnull"] or col["pk"]),
                                          None if col["dflt_value"] is None else str(col["dflt_value"]).lower())
            if col["pk"]:
                shape.constraints.add(f"PRIMARY KEY ({col['name']})")
        for index in await _rows(engine, f'PRAGMA index_list("{table}")'):
            cols = tuple(c["name"] for c in await _rows(engine, f'PRAGMA index_info("{index["name"]}")'))
            shape.indexes.add((bool(index["unique"]), cols))
            if index["origin"] == "u":  # a UNIQUE written in the column definition
                shape.constraints.add(f"UNIQUE ({', '.join(cols)})")
        for fk in await _rows(engine, f'PRAGMA foreign_key_list("{table}")'):
            shape.constraints.add(f"FOREIGN KEY ({fk['from']}) REFERENCES {fk['table']}({fk['to'] or 'id'}) "
                                  f"ON UPDATE {fk['on_update']} ON DELETE {fk['on_delete']}")
        shapes[table] = shape
    return shapes


_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON \S+ USING (\w+) \((.+)\)$")


async def _postgres_shape(engine: Engine) -> dict[str, TableShape]:
    shapes: dict[str, TableShape] = {}
    for col in await _rows(engine, """
            SELECT table_name, column_name, data_type, character_maximum_length, is_nullable, column_default
            FROM information_schema.columns WHERE table_schema = 'public'"""):
        kind = col["data_type"].upper()
        if col["character_maximum_length"] is not None:
            kind += f"({col['character_maximum_length']})"
        shape = shapes.setdefault(col["table_name"], TableShape())
        shape.columns[col["column_name"]] = (kind, col["is_nullable"] == "NO", col["column_default"])
    for index in await _rows(engine, "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'"):
        match = _INDEX.match(index["indexdef"])
        assert match, index["indexdef"]
        cols = tuple(c.strip().strip('"') for c in match.group(3).split(","))
        shapes.setdefault(index["tablename"], TableShape()).indexes.add((bool(match.group(1)), cols))
    for con in await _rows(engine, """
            SELECT c.relname AS table_name, pg_get_constraintdef(k.oid) AS definition
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"""):
        definition = con["definition"].replace('"', "")
        if definition.startswith("FOREIGN KEY"):  # PostgreSQL omits the defaults: spell them out
            if "ON UPDATE" not in definition:
                definition += " ON UPDATE NO ACTION"
            if "ON DELETE" not in definition:
                definition += " ON DELETE NO ACTION"
            head, rest = definition.split(" ON ", 1)
            actions = dict(re.findall(r"(UPDATE|DELETE) ((?:SET NULL|SET DEFAULT|NO ACTION|CASCADE|RESTRICT))",
                                      "ON " + rest))
            definition = f"{head} ON UPDATE {actions['UPDATE']} ON DELETE {actions['DELETE']}"
        shapes.setdefault(con["table_name"], TableShape()).constraints.add(definition)
    return shapes


async def schema_shape(engine: Engine) -> dict[str, TableShape]:
    """Every table of the database (Piccolo's own bookkeeping table left out)."""
    reader = _sqlite_shape if engine.engine_type == "sqlite" else _postgres_shape
    shapes = await reader(engine)
    return {name: shape for name, shape in shapes.items() if name not in PICCOLO_BOOKKEEPING}


def differences(actual: dict[str, TableShape], expected: dict[str, TableShape]) -> list[str]:
    """Readable lines, one per difference; empty when the two schemas agree."""
    out = []
    for table in sorted(set(actual) | set(expected)):
        if table not in actual:
            out.append(f"{table}: table missing")
            continue
        if table not in expected:
            out.append(f"{table}: table no Table class declares")
            continue
        a, e = actual[table], expected[table]
        for col in sorted(set(a.columns) | set(e.columns)):
            if col not in a.columns:
                out.append(f"{table}.{col}: column missing (declared {e.columns[col]})")
            elif col not in e.columns:
                out.append(f"{table}.{col}: column not declared (found {a.columns[col]})")
            elif a.columns[col] != e.columns[col]:
                out.append(f"{table}.{col}: (type, not null, default) is {a.columns[col]}, declared {e.columns[col]}")
        for index in sorted(e.indexes - a.indexes):
            out.append(f"{table}: index {index} missing")
        for index in sorted(a.indexes - e.indexes):
            out.append(f"{table}: index {index} not declared")
        for con in sorted(e.constraints - a.constraints):
            out.append(f"{table}: constraint {con} missing")
        for con in sorted(a.constraints - e.constraints):
            out.append(f"{table}: constraint {con} not declared")
    return out
