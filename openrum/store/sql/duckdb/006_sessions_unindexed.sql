-- The sessions without their primary-key index on (app, session_id), for the reason of 005: DuckDB
-- holds the index whole in memory (at every checkpoint, about 31 bytes per stored session), so
-- the memory the store needed grew with the sessions it kept, and a checkpoint that ran out of it
-- stopped the database. A batch's sessions are now found among the rows received recently (by
-- the zone maps of `last_received`: openrum/store/duckdb.py), so the rows are copied in that order.

CREATE TABLE sessions_v6 (
    app VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    start TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    last_received TIMESTAMP NOT NULL,
    entry_page VARCHAR NOT NULL,
    exit_page VARCHAR NOT NULL,
    weight DOUBLE NOT NULL,
    visitor_id VARCHAR,
    user_tag VARCHAR,
    ended BOOLEAN NOT NULL,
    browser VARCHAR, browser_version VARCHAR, os VARCHAR, os_version VARCHAR,
    device VARCHAR, user_type VARCHAR,
    country VARCHAR, region VARCHAR, city VARCHAR, lat DOUBLE, lon DOUBLE,
    connection VARCHAR, release VARCHAR,
    closed BOOLEAN NOT NULL DEFAULT false,
    end_reason VARCHAR,
    duration DOUBLE,
    actions BIGINT,
    errors BIGINT,
    rage_clicks BIGINT,
    bounce BOOLEAN,
    ux_score VARCHAR
);
INSERT INTO sessions_v6 SELECT * FROM sessions ORDER BY last_received;
DROP TABLE sessions;
ALTER TABLE sessions_v6 RENAME TO sessions;
