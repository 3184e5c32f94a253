-- Availability checks (docs/alerts.md "Availability checks"): the checks as JSON documents,
-- like the alert rules, and one row per run of a check.

CREATE TABLE alert_checks (
    id VARCHAR PRIMARY KEY,
    body JSON NOT NULL,
    created TIMESTAMP NOT NULL
);

CREATE TABLE check_results (
    time TIMESTAMP NOT NULL,
    check_id VARCHAR NOT NULL,
    app VARCHAR NOT NULL,
    ok BOOLEAN NOT NULL,
    status INTEGER NOT NULL,      -- the HTTP status; 0 when no answer came
    latency_ms DOUBLE NOT NULL,
    tls_days DOUBLE,              -- days until the certificate expires (https only)
    error VARCHAR NOT NULL        -- why it failed; empty when ok
);
