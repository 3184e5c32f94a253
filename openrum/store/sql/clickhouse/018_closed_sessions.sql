-- Completed sessions by start, whole (openrum/query/dialect.py): a close keeps its session's
-- dimensions, and `session_starts` (the view on `session_closes` of 005, by start) keeps every
-- value of the close, so the metrics of completed sessions (bounce rate, UX shares, durations)
-- read the closes that start in a range instead of merging the state of every session that may
-- start in it. Closes stored before get their dimensions from their session's state, as
-- `sessions` shows them (the rows written here replace the narrow ones: no version, the last
-- inserted stays). Every statement is idempotent.
ALTER TABLE session_closes
    ADD COLUMN IF NOT EXISTS browser LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS browser_version LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS os LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS os_version LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS device LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS country LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS region LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS city LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS connection LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS release LowCardinality(Nullable(String));

ALTER TABLE session_starts
    ADD COLUMN IF NOT EXISTS last_seen DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    ADD COLUMN IF NOT EXISTS entry_page String,
    ADD COLUMN IF NOT EXISTS exit_page String,
    ADD COLUMN IF NOT EXISTS user_tag Nullable(String),
    ADD COLUMN IF NOT EXISTS end_reason LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS duration Nullable(Float64),
    ADD COLUMN IF NOT EXISTS actions Nullable(Int64),
    ADD COLUMN IF NOT EXISTS errors Nullable(Int64),
    ADD COLUMN IF NOT EXISTS rage_clicks Nullable(Int64),
    ADD COLUMN IF NOT EXISTS bounce Nullable(Bool),
    ADD COLUMN IF NOT EXISTS ux_score LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS weight Float64 DEFAULT 1,
    ADD COLUMN IF NOT EXISTS user_type LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS browser LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS browser_version LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS os LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS os_version LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS device LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS country LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS region LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS city LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS connection LowCardinality(Nullable(String)),
    ADD COLUMN IF NOT EXISTS release LowCardinality(Nullable(String));

ALTER TABLE session_starts_mv MODIFY QUERY
SELECT app, start, session_id, last_seen, entry_page, exit_page, user_tag, end_reason, duration,
       actions, errors, rage_clicks, bounce, ux_score, weight, user_type, browser,
       browser_version, os, os_version, device, country, region, city, connection, release
FROM session_closes;

INSERT INTO session_starts (app, start, session_id, last_seen, entry_page, exit_page, user_tag,
    end_reason, duration, actions, errors, rage_clicks, bounce, ux_score, weight, user_type,
    browser, browser_version, os, os_version, device, country, region, city, connection, release)
SELECT app, start, session_id, last_seen, entry_page, exit_page, user_tag, end_reason, duration,
       actions, errors, rage_clicks, bounce, ux_score, weight, user_type, browser,
       browser_version, os, os_version, device, country, region, city, connection, release
FROM sessions WHERE closed;
