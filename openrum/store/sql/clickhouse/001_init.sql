-- OpenRUM schema v1 for ClickHouse (mirrors duckdb/001_init.sql: same tables, same columns, same
-- order). Times are DateTime64(3, 'UTC'); measures Float64 (ms, CLS unitless).
--
-- Event tables: MergeTree partitioned by day, sorted by what every dashboard query filters on
-- (app, then hour, then action type and page), low-cardinality text as LowCardinality, times
-- delta-encoded. `eid` is the 64-bit key of (app, session, page view, event id): a re-sent event
-- is stored once — ReplacingMergeTree on the sorting key (which ends with eid; an event keeps its
-- time, type and page when it is re-sent), keeping the highest `seq` for actions. Reads run with
-- FINAL (openrum/store/transport.py), so a duplicate never counts, merged or not.
-- TTL: a backstop past every retention; the retention job deletes per application before it.
-- Every statement is idempotent: collectors that start together may all run it.

CREATE TABLE IF NOT EXISTS applications (
    id String,
    name String,
    origins Array(String),
    created DateTime64(3, 'UTC'),
    config String,
    version UInt64  -- an update inserts a new version; FINAL keeps the latest
) ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS actions (
    eid UInt64,
    app LowCardinality(String),
    time DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    received DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    session_id String CODEC(ZSTD(1)),
    page_view_id String CODEC(ZSTD(1)),
    seq Int64 CODEC(T64, ZSTD(1)),
    event_id String CODEC(ZSTD(1)),
    action_type LowCardinality(String),
    action_name LowCardinality(String),
    url String CODEC(ZSTD(3)),
    page LowCardinality(String),
    duration Nullable(Float64) CODEC(ZSTD(1)),
    lcp Nullable(Float64) CODEC(ZSTD(1)),
    cls Nullable(Float64) CODEC(ZSTD(1)),
    inp Nullable(Float64) CODEC(ZSTD(1)),
    fcp Nullable(Float64) CODEC(ZSTD(1)),
    ttfb Nullable(Float64) CODEC(ZSTD(1)),
    fid Nullable(Float64) CODEC(ZSTD(1)),
    lcp_target Nullable(String) CODEC(ZSTD(3)),
    inp_target Nullable(String) CODEC(ZSTD(3)),
    cls_target Nullable(String) CODEC(ZSTD(3)),
    inp_input_delay Nullable(Float64) CODEC(ZSTD(1)),
    inp_processing Nullable(Float64) CODEC(ZSTD(1)),
    inp_presentation Nullable(Float64) CODEC(ZSTD(1)),
    redirect Nullable(Float64) CODEC(ZSTD(1)),
    dns Nullable(Float64) CODEC(ZSTD(1)),
    tcp Nullable(Float64) CODEC(ZSTD(1)),
    tls Nullable(Float64) CODEC(ZSTD(1)),
    request Nullable(Float64) CODEC(ZSTD(1)),
    response Nullable(Float64) CODEC(ZSTD(1)),
    dom_processing Nullable(Float64) CODEC(ZSTD(1)),
    dom_interactive Nullable(Float64) CODEC(ZSTD(1)),
    dom_content_loaded Nullable(Float64) CODEC(ZSTD(1)),
    dom_complete Nullable(Float64) CODEC(ZSTD(1)),
    load_event_end Nullable(Float64) CODEC(ZSTD(1)),
    server_time Nullable(Float64) CODEC(ZSTD(1)),
    network_time Nullable(Float64) CODEC(ZSTD(1)),
    frontend_time Nullable(Float64) CODEC(ZSTD(1)),
    long_tasks Int64 CODEC(T64, ZSTD(1)),
    long_task_ms Float64 CODEC(ZSTD(1)),
    requests Int64 CODEC(T64, ZSTD(1)),
    errors Int64 CODEC(T64, ZSTD(1)),
    apdex LowCardinality(Nullable(String)),
    weight Float64 CODEC(ZSTD(1)),
    agent_version LowCardinality(String),
    browser LowCardinality(Nullable(String)),
    browser_version LowCardinality(Nullable(String)),
    os LowCardinality(Nullable(String)),
    os_version LowCardinality(Nullable(String)),
    device LowCardinality(Nullable(String)),
    user_type LowCardinality(Nullable(String)),
    country LowCardinality(Nullable(String)),
    region LowCardinality(Nullable(String)),
    city LowCardinality(Nullable(String)),
    lat Nullable(Float64) CODEC(ZSTD(1)),
    lon Nullable(Float64) CODEC(ZSTD(1)),
    connection LowCardinality(Nullable(String)),
    release LowCardinality(Nullable(String)),
    INDEX eid_bf eid TYPE bloom_filter GRANULARITY 4,
    INDEX session_bf session_id TYPE bloom_filter GRANULARITY 4
) ENGINE = ReplacingMergeTree(seq)
PARTITION BY toYYYYMMDD(time)
ORDER BY (app, toStartOfHour(time), action_type, page, eid)
TTL toDateTime(time) + INTERVAL 400 DAY DELETE;

CREATE TABLE IF NOT EXISTS errors (
    eid UInt64,
    app LowCardinality(String),
    time DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    received DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    session_id String CODEC(ZSTD(1)),
    page_view_id String CODEC(ZSTD(1)),
    event_id String CODEC(ZSTD(1)),
    action_event_id Nullable(String) CODEC(ZSTD(1)),
    error_type LowCardinality(String),
    error_name LowCardinality(Nullable(String)),
    message String CODEC(ZSTD(3)),
    fingerprint String CODEC(ZSTD(1)),
    stack Nullable(String) CODEC(ZSTD(3)),
    source Nullable(String) CODEC(ZSTD(3)),
    line Nullable(Int64),
    col Nullable(Int64),
    status Nullable(Int64),
    count Int64 CODEC(T64, ZSTD(1)),
    url String CODEC(ZSTD(3)),
    page LowCardinality(String),
    agent_version LowCardinality(String),
    browser LowCardinality(Nullable(String)),
    browser_version LowCardinality(Nullable(String)),
    os LowCardinality(Nullable(String)),
    os_version LowCardinality(Nullable(String)),
    device LowCardinality(Nullable(String)),
    user_type LowCardinality(Nullable(String)),
    country LowCardinality(Nullable(String)),
    region LowCardinality(Nullable(String)),
    city LowCardinality(Nullable(String)),
    lat Nullable(Float64) CODEC(ZSTD(1)),
    lon Nullable(Float64) CODEC(ZSTD(1)),
    connection LowCardinality(Nullable(String)),
    release LowCardinality(Nullable(String)),
    INDEX eid_bf eid TYPE bloom_filter GRANULARITY 4,
    INDEX session_bf session_id TYPE bloom_filter GRANULARITY 4
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (app, toStartOfHour(time), error_type, fingerprint, eid)
TTL toDateTime(time) + INTERVAL 400 DAY DELETE;

CREATE TABLE IF NOT EXISTS user_events (
    eid UInt64,
    app LowCardinality(String),
    time DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    received DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    session_id String CODEC(ZSTD(1)),
    page_view_id String CODEC(ZSTD(1)),
    event_id String CODEC(ZSTD(1)),
    action_event_id Nullable(String) CODEC(ZSTD(1)),
    event_type LowCardinality(String),
    value Nullable(String) CODEC(ZSTD(3)),
    x Nullable(Float64),
    y Nullable(Float64),
    count Nullable(Int64),
    url String CODEC(ZSTD(3)),
    page LowCardinality(String),
    browser LowCardinality(Nullable(String)),
    browser_version LowCardinality(Nullable(String)),
    os LowCardinality(Nullable(String)),
    os_version LowCardinality(Nullable(String)),
    device LowCardinality(Nullable(String)),
    user_type LowCardinality(Nullable(String)),
    country LowCardinality(Nullable(String)),
    region LowCardinality(Nullable(String)),
    city LowCardinality(Nullable(String)),
    lat Nullable(Float64) CODEC(ZSTD(1)),
    lon Nullable(Float64) CODEC(ZSTD(1)),
    connection LowCardinality(Nullable(String)),
    release LowCardinality(Nullable(String)),
    INDEX eid_bf eid TYPE bloom_filter GRANULARITY 4,
    INDEX session_bf session_id TYPE bloom_filter GRANULARITY 4
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(time)
ORDER BY (app, toStartOfHour(time), event_type, eid)
TTL toDateTime(time) + INTERVAL 400 DAY DELETE;

-- Sessions with several writers: every batch inserts its touches into `session_touches` (a Null
-- table: nothing is kept); a materialized view folds them into `session_state`, whose rows merge
-- in any order and any number of times to the same session (start = min, last seen = max, entry
-- page of the earliest touch, exit page of the latest, user tag latest non-null, ended OR).
-- `sessions` is the merged view every reader uses.
CREATE TABLE IF NOT EXISTS session_touches (
    app String,
    session_id String,
    start DateTime64(3, 'UTC'),
    last_seen DateTime64(3, 'UTC'),
    last_received DateTime64(3, 'UTC'),
    entry_page String,
    exit_page String,
    weight Float64,
    visitor_id Nullable(String),
    user_tag Nullable(String),
    ended Bool,
    browser Nullable(String),
    browser_version Nullable(String),
    os Nullable(String),
    os_version Nullable(String),
    device Nullable(String),
    user_type Nullable(String),
    country Nullable(String),
    region Nullable(String),
    city Nullable(String),
    lat Nullable(Float64),
    lon Nullable(Float64),
    connection Nullable(String),
    release Nullable(String)
) ENGINE = Null;

CREATE TABLE IF NOT EXISTS session_state (
    app LowCardinality(String),
    session_id String,
    start SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    last_received SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    entry_page AggregateFunction(argMin, String, DateTime64(3, 'UTC')),
    exit_page AggregateFunction(argMax, String, DateTime64(3, 'UTC')),
    weight AggregateFunction(argMin, Float64, DateTime64(3, 'UTC')),
    visitor_id AggregateFunction(argMin, Nullable(String), DateTime64(3, 'UTC')),
    user_tag AggregateFunction(argMax, Nullable(String), DateTime64(3, 'UTC')),
    ended SimpleAggregateFunction(max, Bool),
    dims AggregateFunction(argMin, Tuple(
        browser Nullable(String), browser_version Nullable(String), os Nullable(String),
        os_version Nullable(String), device Nullable(String), user_type Nullable(String),
        country Nullable(String), region Nullable(String), city Nullable(String),
        lat Nullable(Float64), lon Nullable(Float64), connection Nullable(String),
        release Nullable(String)), DateTime64(3, 'UTC'))
) ENGINE = AggregatingMergeTree
ORDER BY (app, session_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS session_touches_mv TO session_state AS
SELECT app, session_id,
       min(t.start) AS start, max(t.last_seen) AS last_seen,
       max(t.last_received) AS last_received,
       argMinState(t.entry_page, t.start) AS entry_page,
       argMaxState(t.exit_page, t.last_seen) AS exit_page,
       argMinState(t.weight, t.start) AS weight,
       argMinState(t.visitor_id, t.start) AS visitor_id,
       argMaxState(t.user_tag, t.last_received) AS user_tag,
       max(t.ended) AS ended,
       argMinState(tuple(t.browser, t.browser_version, t.os, t.os_version, t.device, t.user_type,
                         t.country, t.region, t.city, t.lat, t.lon, t.connection, t.release)
                   ::Tuple(browser Nullable(String), browser_version Nullable(String),
                           os Nullable(String), os_version Nullable(String),
                           device Nullable(String), user_type Nullable(String),
                           country Nullable(String), region Nullable(String),
                           city Nullable(String), lat Nullable(Float64), lon Nullable(Float64),
                           connection Nullable(String), release Nullable(String)),
                   t.start) AS dims
FROM session_touches AS t
GROUP BY app, session_id;

CREATE VIEW IF NOT EXISTS sessions_live AS
SELECT s.app AS app, s.session_id AS session_id,
       min(s.start) AS start, max(s.last_seen) AS last_seen,
       max(s.last_received) AS last_received,
       argMinMerge(s.entry_page) AS entry_page, argMaxMerge(s.exit_page) AS exit_page,
       argMinMerge(s.weight) AS weight, argMinMerge(s.visitor_id) AS visitor_id,
       argMaxMerge(s.user_tag) AS user_tag, max(s.ended) AS ended,
       argMinMerge(s.dims) AS d
FROM session_state AS s
GROUP BY s.app, s.session_id;

CREATE VIEW IF NOT EXISTS sessions AS
SELECT app, session_id, start, last_seen, last_received, entry_page, exit_page, weight,
       visitor_id, user_tag, ended,
       d.browser AS browser, d.browser_version AS browser_version, d.os AS os,
       d.os_version AS os_version, d.device AS device, d.user_type AS user_type,
       d.country AS country, d.region AS region, d.city AS city, d.lat AS lat, d.lon AS lon,
       d.connection AS connection, d.release AS release
FROM sessions_live;
