-- Alerts (mirrors duckdb/010_alerts.sql). Small tables: a change inserts a new version (FINAL
-- keeps the latest), a removal is a lightweight DELETE.

CREATE TABLE IF NOT EXISTS alert_rules (
    id String,
    body String,
    created DateTime64(3, 'UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS alert_channels (
    id String,
    body String,  -- secrets included: the API never returns them
    created DateTime64(3, 'UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS alert_silences (
    id String,
    body String,
    created DateTime64(3, 'UTC'),
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS incidents (
    id String,
    rule String,
    app String,
    severity String,
    state String,  -- firing, resolved
    start DateTime64(3, 'UTC'),
    `end` Nullable(DateTime64(3, 'UTC')),
    notified Nullable(DateTime64(3, 'UTC')),  -- the last notification sent
    detail String,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS alert_deliveries (
    time DateTime64(3, 'UTC'),
    incident String,
    channel String,
    event String,  -- firing, reminder, resolved, test
    attempt UInt32,
    ok Bool,
    status String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (time, incident);

-- The evaluator's lease: a claim is a new version, stamped by the server's clock at insert, so
-- that claims from several collectors are ordered by one clock.
CREATE TABLE IF NOT EXISTS leases (
    name String,
    holder String,
    until DateTime64(3, 'UTC'),
    version UInt64 DEFAULT toUnixTimestamp64Nano(now64(9))
) ENGINE = ReplacingMergeTree(version)
ORDER BY name;
