-- Open sessions: every touch puts its session here (a view on `session_touches`), the closer
-- takes out what it closes (openrum/store/clickhouse.py), so the live sessions — the closer's
-- candidates and the dashboard's live count — are found among a few rows, not among every
-- session. A touch that comes after the close puts the session back; readers check `closed`.

CREATE TABLE IF NOT EXISTS session_open (
    app LowCardinality(String),
    session_id String
) ENGINE = ReplacingMergeTree
ORDER BY (app, session_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS session_open_mv TO session_open AS
SELECT app, session_id FROM session_touches;

INSERT INTO session_open SELECT app, session_id FROM sessions WHERE NOT closed;
