-- The store's schema as it stands after every migration in migrations/.
-- tests/store/test_schema.py checks that applying the migrations gives exactly this.

CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at REAL NOT NULL
);

CREATE TABLE documents (
    namespace TEXT NOT NULL,
    key       TEXT NOT NULL,
    body      BLOB NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;

CREATE TABLE log_entries (
    namespace TEXT    NOT NULL,
    stream    TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    body      BLOB    NOT NULL,
    PRIMARY KEY (namespace, stream, seq)
) WITHOUT ROWID;
