-- OpenRUM schema v1 for DuckDB. Times are TIMESTAMP (UTC, ms); measures DOUBLE (ms, CLS unitless).
-- `eid` is the 64-bit key of (app, session, page view, event id): a re-sent event is stored once.

CREATE TABLE applications (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    origins VARCHAR[] NOT NULL,
    created TIMESTAMP NOT NULL,
    config JSON NOT NULL
);

CREATE TABLE actions (
    eid UBIGINT PRIMARY KEY,
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

CREATE TABLE errors (
    eid UBIGINT PRIMARY KEY,
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

CREATE TABLE user_events (
    eid UBIGINT PRIMARY KEY,
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

-- Upserted by every batch (start = min, last_seen = max); completed by the session closer.
CREATE TABLE sessions (
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
    PRIMARY KEY (app, session_id)
);
