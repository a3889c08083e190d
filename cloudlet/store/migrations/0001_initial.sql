-- 0001: documents and logs.
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
