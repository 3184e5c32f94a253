-- The completed sessions scored frustrating that had errors when they closed, by start: the
-- Errors page counts each error group's frustrated sessions among them (openrum/web/errors.py),
-- a small share of the closes, instead of reading every close of its range. Fed by the closes
-- as `session_starts` is; filled from the closes stored before. Errors are matched to them by
-- a 64-bit hash of the session id, stored with each error (`session_key`: 8 bytes a row to
-- read instead of the id). Every statement is idempotent (a session's rows repeated are
-- merged, and reads only ask whether a session is there).
ALTER TABLE errors ADD COLUMN IF NOT EXISTS session_key UInt64 MATERIALIZED cityHash64(session_id);
ALTER TABLE errors MATERIALIZE COLUMN session_key;

CREATE TABLE IF NOT EXISTS session_frustrated (
    app LowCardinality(String),
    start DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    session_id String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(start)
ORDER BY (app, start, session_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS session_frustrated_mv TO session_frustrated AS
SELECT app, start, session_id FROM session_closes
WHERE ux_score = 'frustrating' AND errors > 0;

INSERT INTO session_frustrated
SELECT app, start, session_id FROM session_closes
WHERE ux_score = 'frustrating' AND errors > 0;
