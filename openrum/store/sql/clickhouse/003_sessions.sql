-- Completed sessions (mirrors duckdb/003_sessions.sql; openrum/sessions.py). The closer inserts
-- one row per session it completes, with the session as it was then; a session with a row here
-- is closed and shows those values, so touches that arrive later change nothing (events stay at
-- event level). Closers in several collectors compute the same values from the same events, and
-- FINAL keeps one row per session.

CREATE TABLE IF NOT EXISTS session_closes (
    app LowCardinality(String),
    session_id String,
    start DateTime64(3, 'UTC'),
    last_seen DateTime64(3, 'UTC'),
    last_received DateTime64(3, 'UTC'),
    entry_page String,
    exit_page String,
    user_tag Nullable(String),
    ended Bool,
    closed Bool,
    end_reason Nullable(String),   -- end, inactivity, max_duration, max_actions
    duration Nullable(Float64),    -- ms: end of the last action - start of the first
    actions Nullable(Int64),
    errors Nullable(Int64),
    rage_clicks Nullable(Int64),
    bounce Nullable(Bool),         -- one action or fewer
    ux_score Nullable(String)      -- satisfying, tolerable, frustrating
) ENGINE = ReplacingMergeTree
ORDER BY (app, session_id);

CREATE OR REPLACE VIEW sessions AS
SELECT l.app AS app, l.session_id AS session_id,
       if(ifNull(c.closed, false), assumeNotNull(c.start), l.start) AS start,
       if(ifNull(c.closed, false), assumeNotNull(c.last_seen), l.last_seen) AS last_seen,
       if(ifNull(c.closed, false), assumeNotNull(c.last_received), l.last_received)
           AS last_received,
       if(ifNull(c.closed, false), assumeNotNull(c.entry_page), l.entry_page) AS entry_page,
       if(ifNull(c.closed, false), assumeNotNull(c.exit_page), l.exit_page) AS exit_page,
       l.weight AS weight, l.visitor_id AS visitor_id,
       if(ifNull(c.closed, false), c.user_tag, l.user_tag) AS user_tag,
       if(ifNull(c.closed, false), assumeNotNull(c.ended), l.ended) AS ended,
       l.d.browser AS browser, l.d.browser_version AS browser_version, l.d.os AS os,
       l.d.os_version AS os_version, l.d.device AS device, l.d.user_type AS user_type,
       l.d.country AS country, l.d.region AS region, l.d.city AS city, l.d.lat AS lat,
       l.d.lon AS lon, l.d.connection AS connection, l.d.release AS release,
       ifNull(c.closed, false) AS closed, c.end_reason AS end_reason, c.duration AS duration,
       c.actions AS actions, c.errors AS errors, c.rage_clicks AS rage_clicks,
       c.bounce AS bounce, c.ux_score AS ux_score
FROM sessions_live AS l
LEFT ANY JOIN session_closes AS c ON c.app = l.app AND c.session_id = l.session_id
SETTINGS join_use_nulls = 1;
