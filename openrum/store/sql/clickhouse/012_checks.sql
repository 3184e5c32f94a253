-- Availability checks (mirrors duckdb/011_checks.sql).

CREATE TABLE IF NOT EXISTS alert_checks (
    id String,
    body String,
    created DateTime64(3, 'UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS check_results (
    time DateTime64(3, 'UTC'),
    check_id String,
    app String,
    ok Bool,
    status UInt16,  -- the HTTP status; 0 when no answer came
    latency_ms Float64,
    tls_days Nullable(Float64),  -- days until the certificate expires (https only)
    error String  -- why it failed; empty when ok
) ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (check_id, time);
