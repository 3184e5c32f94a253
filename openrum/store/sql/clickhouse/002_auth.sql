-- Accounts, login sessions, API tokens and the audit log (mirrors duckdb/002_auth.sql). Secrets
-- are stored hashed only. Small tables: a change inserts a new version (FINAL keeps the latest),
-- a removal is a lightweight DELETE.

CREATE TABLE IF NOT EXISTS users (
    username String,
    password_hash String,
    created DateTime64(3, 'UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY username;

CREATE TABLE IF NOT EXISTS auth_sessions (
    id_hash String,     -- sha256 of the cookie value
    username String,
    csrf String,
    created DateTime64(3, 'UTC'),
    expires DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY id_hash;

CREATE TABLE IF NOT EXISTS tokens (
    id String,
    name String,
    token_hash String,  -- sha256 of the token
    app Nullable(String),  -- NULL: every application
    read_only Bool,
    created DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY id;

CREATE TABLE IF NOT EXISTS audit_log (
    time DateTime64(3, 'UTC'),
    actor String,
    action String,
    app Nullable(String),
    detail String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY time;
