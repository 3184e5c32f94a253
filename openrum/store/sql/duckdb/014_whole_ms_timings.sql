-- Timings in whole milliseconds: the batch step rounds them since this version (CLS, unitless, is
-- kept as measured). Whole numbers take about a quarter of the bytes of measured ones (DuckDB's
-- ALP stores them as small integers; bench/store_bytes), so the actions stored before are
-- rounded too, copied in the order they are stored (DuckDB keeps insertion order: the order
-- received, which the look-up of re-sent events relies on; see 005), which needs no sort.
-- The rollups keep their sums.

CREATE TABLE actions_v14 (
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
    connection VARCHAR, release VARCHAR,
    trigger VARCHAR
);
INSERT INTO actions_v14 BY NAME
SELECT * REPLACE (
    round(duration) AS duration, round(lcp) AS lcp, round(inp) AS inp, round(fcp) AS fcp,
    round(ttfb) AS ttfb, round(fid) AS fid, round(inp_input_delay) AS inp_input_delay,
    round(inp_processing) AS inp_processing, round(inp_presentation) AS inp_presentation,
    round(redirect) AS redirect, round(dns) AS dns, round(tcp) AS tcp, round(tls) AS tls,
    round(request) AS request, round(response) AS response,
    round(dom_processing) AS dom_processing, round(dom_interactive) AS dom_interactive,
    round(dom_content_loaded) AS dom_content_loaded, round(dom_complete) AS dom_complete,
    round(load_event_end) AS load_event_end, round(server_time) AS server_time,
    round(network_time) AS network_time, round(frontend_time) AS frontend_time,
    round(long_task_ms) AS long_task_ms
)
FROM actions;
DROP TABLE actions;
ALTER TABLE actions_v14 RENAME TO actions;
