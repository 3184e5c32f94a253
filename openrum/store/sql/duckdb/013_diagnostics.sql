-- Diagnostics (docs/agent.md "Diagnostics"): one row per item the diagnostics module measured —
-- a slow interaction, a script of a long animation frame, a resource of the load waterfall, an
-- origin's totals. Kept for `retention_diagnostics_days`. No index on `eid`, as the other event
-- tables (005): re-sent rows are found among the recently received ones.
CREATE TABLE diagnostics (
    eid UBIGINT NOT NULL,
    app VARCHAR NOT NULL,
    time TIMESTAMP NOT NULL,
    received TIMESTAMP NOT NULL,
    session_id VARCHAR NOT NULL,
    page_view_id VARCHAR NOT NULL,
    event_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    page VARCHAR NOT NULL,
    item VARCHAR, origin VARCHAR, party VARCHAR, provider VARCHAR, category VARCHAR,
    interaction VARCHAR, interaction_type VARCHAR, interaction_ms DOUBLE,
    inp BOOLEAN NOT NULL,
    function_name VARCHAR, invoker VARCHAR, invoker_type VARCHAR,
    start_ms DOUBLE, duration DOUBLE, style_layout DOUBLE,
    dns DOUBLE, connect DOUBLE, tls DOUBLE, request DOUBLE, response DOUBLE,
    transfer_size BIGINT, body_size BIGINT, cache VARCHAR, initiator VARCHAR,
    render_blocking BOOLEAN NOT NULL, lcp BOOLEAN NOT NULL,
    count BIGINT,
    weight DOUBLE NOT NULL,
    agent_version VARCHAR NOT NULL,
    browser VARCHAR, browser_version VARCHAR, os VARCHAR, os_version VARCHAR,
    device VARCHAR, user_type VARCHAR,
    country VARCHAR, region VARCHAR, city VARCHAR, lat DOUBLE, lon DOUBLE,
    connection VARCHAR, release VARCHAR
);
