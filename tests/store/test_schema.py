"""schema.sql is what the numbered migrations produce."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources

from cloudlet.store.sqlite import apply_migrations


def _tables(conn: sqlite3.Connection) -> dict[str, str]:
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type='table' ORDER BY name").fetchall()
    return {name: re.sub(r"\s+", " ", re.sub(r"\s*([(),])\s*", r"\1", sql)).strip() for name, sql in rows}


def test_migrations_produce_schema_sql():
    migrated = sqlite3.connect(":memory:")
    apply_migrations(migrated)
    declared = sqlite3.connect(":memory:")
    declared.executescript((resources.files("cloudlet.store") / "schema.sql").read_text())
    assert _tables(migrated) == _tables(declared)


def test_migrations_are_idempotent():
    conn = sqlite3.connect(":memory:")
    apply_migrations(conn)
    apply_migrations(conn)
    assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == 1
