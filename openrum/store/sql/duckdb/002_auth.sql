-- Accounts, login sessions, API tokens and the audit log. Secrets are stored hashed only.

CREATE TABLE users (
    username VARCHAR PRIMARY KEY,
    password_hash VARCHAR NOT NULL,
    created TIMESTAMP NOT NULL
);

CREATE TABLE auth_sessions (
    id_hash VARCHAR PRIMARY KEY,     -- sha256 of the cookie value
    username VARCHAR NOT NULL,
    csrf VARCHAR NOT NULL,
    created TIMESTAMP NOT NULL,
    expires TIMESTAMP NOT NULL
);

CREATE TABLE tokens (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    token_hash VARCHAR NOT NULL UNIQUE,  -- sha256 of the token
    app VARCHAR,                         -- NULL: every application
    read_only BOOLEAN NOT NULL,
    created TIMESTAMP NOT NULL
);

CREATE TABLE audit_log (
    time TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    app VARCHAR,
    detail JSON NOT NULL
);
