-- Error triage (docs/errors.md "Triage"): the status a person gave an error group. Regressed
-- and lapsed ignores are read from the errors stored after ``changed``, not stored here.

CREATE TABLE error_status (
    app VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    status VARCHAR NOT NULL,      -- unresolved, resolved, ignored
    changed TIMESTAMP NOT NULL,   -- when it was set
    actor VARCHAR NOT NULL,       -- who set it
    release VARCHAR,              -- resolved in this release
    until TIMESTAMP,              -- ignored until then
    events BIGINT,                -- ignored until this many more events
    sessions BIGINT,              -- ignored until this many more sessions
    PRIMARY KEY (app, fingerprint)
);
