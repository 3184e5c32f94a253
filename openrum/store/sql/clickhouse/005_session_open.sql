-- Session lookups that do not read every session (openrum/store/clickhouse.py,
-- openrum/web/sessions.py). Every statement is idempotent; readers allow for repeated rows.
--
-- Open sessions: every touch puts its session here (a view on `session_touches`), the closer
-- takes out what it closes, so the live sessions — the closer's candidates and the dashboard's
-- live count — are found among a few rows. A touch that comes after the close puts the session
-- back until the next close; readers check `closed`.
CREATE TABLE IF NOT EXISTS session_open (
    app LowCardinality(String),
    session_id String
) ENGINE = ReplacingMergeTree
ORDER BY (app, session_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS session_open_mv TO session_open AS
SELECT app, session_id FROM session_touches;

INSERT INTO session_open SELECT app, session_id FROM sessions WHERE NOT closed;

-- Closed sessions by start (a view on `session_closes`): the newest sessions of a range are the
-- newest closed ones here and the open ones, without reading every session.
CREATE TABLE IF NOT EXISTS session_starts (
    app LowCardinality(String),
    start DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    session_id String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(start)
ORDER BY (app, start, session_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS session_starts_mv TO session_starts AS
SELECT app, start, session_id FROM session_closes;

INSERT INTO session_starts SELECT app, start, session_id FROM session_closes;
