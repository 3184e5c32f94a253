-- The Errors page counts each error group's frustrated sessions: of the completed sessions
-- scored frustrating that had errors when they closed (openrum/web/errors.py). Reading them from
-- the sessions table read every session of the range (380 ms of a 700 ms page at 100M actions,
-- bench/query); they are a small share of the closes, kept apart by start in
-- `session_frustrated` (as on ClickHouse, its migration 019), written by the session closer and
-- filled here from the closes stored before. Errors are matched to them by their session's
-- number (the lower 64 bits of the MD5 of its id, as actions since 017): each error keeps it.
-- The errors stored before get theirs in a copy of the table, in the order stored (as 017).

CREATE TABLE errors_v19 (
    eid UBIGINT NOT NULL,
    app VARCHAR NOT NULL,
    time TIMESTAMP NOT NULL,
    received TIMESTAMP NOT NULL,
    session_id VARCHAR NOT NULL,
    session_key UBIGINT NOT NULL,
    page_view_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    action_event_id VARCHAR,
    error_type VARCHAR NOT NULL,
    error_name VARCHAR,
    message VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    stack VARCHAR,
    source VARCHAR,
    line BIGINT,
    col BIGINT,
    status BIGINT,
    count BIGINT NOT NULL,
    url VARCHAR NOT NULL,
    page VARCHAR NOT NULL,
    agent_version VARCHAR NOT NULL,
    browser VARCHAR, browser_version VARCHAR, os VARCHAR, os_version VARCHAR,
    device VARCHAR, user_type VARCHAR,
    country VARCHAR, region VARCHAR, city VARCHAR, lat DOUBLE, lon DOUBLE,
    connection VARCHAR, release VARCHAR,
    weight DOUBLE DEFAULT 1,
    trace_id VARCHAR
);

INSERT INTO errors_v19 BY NAME
SELECT *, md5_number_lower(session_id) AS session_key FROM errors;
DROP TABLE errors;
ALTER TABLE errors_v19 RENAME TO errors;

CREATE TABLE session_frustrated (
    app VARCHAR NOT NULL,
    start TIMESTAMP NOT NULL,
    session_key UBIGINT NOT NULL
);

INSERT INTO session_frustrated
SELECT app, start, md5_number_lower(session_id) FROM sessions
WHERE closed AND ux_score = 'frustrating' AND errors > 0
ORDER BY start;
