-- Error triage (mirrors duckdb/012_error_status.sql). A small table: a change inserts a new
-- version (FINAL keeps the latest).

CREATE TABLE IF NOT EXISTS error_status (
    app String,
    fingerprint String,
    status String,  -- unresolved, resolved, ignored
    changed DateTime64(3, 'UTC'),
    actor String,
    release Nullable(String),
    until Nullable(DateTime64(3, 'UTC')),
    events Nullable(Int64),
    sessions Nullable(Int64),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (app, fingerprint);
