-- Alerts (docs/alerts.md): rules, channels and silences as JSON documents, incidents, the
-- delivery log and the lease that lets one evaluator run at a time.

CREATE TABLE alert_rules (
    id VARCHAR PRIMARY KEY,
    body JSON NOT NULL,
    created TIMESTAMP NOT NULL
);

CREATE TABLE alert_channels (
    id VARCHAR PRIMARY KEY,
    body JSON NOT NULL,           -- secrets included: the API never returns them
    created TIMESTAMP NOT NULL
);

CREATE TABLE alert_silences (
    id VARCHAR PRIMARY KEY,
    body JSON NOT NULL,
    created TIMESTAMP NOT NULL
);

CREATE TABLE incidents (
    id VARCHAR PRIMARY KEY,
    rule VARCHAR NOT NULL,
    app VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    state VARCHAR NOT NULL,       -- firing, resolved
    start TIMESTAMP NOT NULL,
    "end" TIMESTAMP,
    notified TIMESTAMP,           -- the last notification sent
    detail JSON NOT NULL
);

CREATE TABLE alert_deliveries (
    time TIMESTAMP NOT NULL,
    incident VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    event VARCHAR NOT NULL,       -- firing, reminder, resolved, test
    attempt INTEGER NOT NULL,
    ok BOOLEAN NOT NULL,
    status VARCHAR NOT NULL
);

CREATE TABLE leases (
    name VARCHAR PRIMARY KEY,
    holder VARCHAR NOT NULL,
    until TIMESTAMP NOT NULL
);
