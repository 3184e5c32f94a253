-- The event tables without their primary-key index on `eid`: DuckDB holds such an index whole in
-- memory (at every checkpoint, about 31 bytes per stored event), so it grew with the store until
-- the store failed. Re-sent events are now found among the recently received rows (by the zone
-- maps of `received`: openrum/store/duckdb.py), so the rows are copied in the order received.

CREATE TABLE actions_v5 (
    eid UBIGINT NOT NULL,
    app VARCHAR NOT NULL,
    time TIMESTAMP NOT NULL,
    received TIMESTAMP NOT NULL,
    session_id VARCHAR NOT NULL,
    page_view_id VARCHAR NOT NULL,
    seq BIGINT NOT NULL,
    event_id VARCHAR NOT NULL,
    action_type VARCHAR NOT NULL,
    action_name VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    page VARCHAR NOT NULL,
    duration DOUBLE,
    lcp DOUBLE, cls DOUBLE, inp DOUBLE, fcp DOUBLE, ttfb DOUBLE, fid DOUBLE,
    lcp_target VARCHAR, inp_target VARCHAR, cls_target VARCHAR,
    inp_input_delay DOUBLE, inp_processing DOUBLE, inp_presentation DOUBLE,
    redirect DOUBLE, dns DOUBLE, tcp DOUBLE, tls DOUBLE, request DOUBLE, response DOUBLE,
    dom_processing DOUBLE, dom_interactive DOUBLE, dom_content_loaded DOUBLE, dom_complete DOUBLE,
    load_event_end DOUBLE,
    server_time DOUBLE, network_time DOUBLE, frontend_time DOUBLE,
    long_tasks BIGINT NOT NULL, long_task_ms DOUBLE NOT NULL,
    requests BIGINT NOT NULL, errors BIGINT NOT NULL,
    apdex VARCHAR,
    weight DOUBLE NOT NULL,
    agent_version VARCHAR NOT NULL,
    browser VARCHAR, browser_version VARCHAR, os VARCHAR, os_version VARCHAR,
    device VARCHAR, user_type VARCHAR,
    country VARCHAR, region VARCHAR, city VARCHAR, lat DOUBLE, lon DOUBLE,
    connection VARCHAR, release VARCHAR
);
INSERT INTO actions_v5 SELECT * FROM actions ORDER BY received;
DROP TABLE actions;
ALTER TABLE actions_v5 RENAME TO actions;

CREATE TABLE errors_v5 (
    eid UBIGINT NOT NULL,
    app VARCHAR NOT NULL,
    time TIMESTAMP NOT NULL,
    received TIMESTAMP NOT NULL,
    session_id VARCHAR NOT NULL,
    page_view_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    action_event_id VARCHAR,
    error_type VARCHAR NOT NULL,
    error_name VARCHAR,
    message VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    stack VARCHAR, source VARCHAR, line BIGINT, col BIGINT, status BIGINT,
    count BIGINT NOT NULL,
    url VARCHAR NOT NULL,
    page VARCHAR NOT NULL,
    agent_version VARCHAR NOT NULL,
    browser VARCHAR, browser_version VARCHAR, os VARCHAR, os_version VARCHAR,
    device VARCHAR, user_type VARCHAR,
    country VARCHAR, region VARCHAR, city VARCHAR, lat DOUBLE, lon DOUBLE,
    connection VARCHAR, release VARCHAR
);
INSERT INTO errors_v5 SELECT * FROM errors ORDER BY received;
DROP TABLE errors;
ALTER TABLE errors_v5 RENAME TO errors;

CREATE TABLE user_events_v5 (
    eid UBIGINT NOT NULL,
    app VARCHAR NOT NULL,
    time TIMESTAMP NOT NULL,
    received TIMESTAMP NOT NULL,
    session_id VARCHAR NOT NULL,
    page_view_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    action_event_id VARCHAR,
    event_type VARCHAR NOT NULL,
    value VARCHAR, x DOUBLE, y DOUBLE, count BIGINT,
    url VARCHAR NOT NULL,
    page VARCHAR NOT NULL,
    browser VARCHAR, browser_version VARCHAR, os VARCHAR, os_version VARCHAR,
    device VARCHAR, user_type VARCHAR,
    country VARCHAR, region VARCHAR, city VARCHAR, lat DOUBLE, lon DOUBLE,
    connection VARCHAR, release VARCHAR
);
INSERT INTO user_events_v5 SELECT * FROM user_events ORDER BY received;
DROP TABLE user_events;
ALTER TABLE user_events_v5 RENAME TO user_events;
