-- Open sessions with their start (openrum/web/sessions.py): the newest open sessions of a range
-- are found in `session_open` alone, without merging every open session's state. Every touch
-- adds its start (the sorting key keeps each distinct one), so an open session's start is the
-- least of its rows — the start `sessions` shows until it is closed. Every statement is
-- idempotent; rows from before this migration get their session's start, then leave.
ALTER TABLE session_open
    ADD COLUMN IF NOT EXISTS start DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    MODIFY ORDER BY (app, session_id, start);

ALTER TABLE session_open_mv MODIFY QUERY SELECT app, session_id, start FROM session_touches;

INSERT INTO session_open
SELECT app, session_id, start FROM sessions
WHERE NOT closed AND (app, session_id) IN
    (SELECT app, session_id FROM session_open WHERE toUnixTimestamp64Milli(start) = 0);

DELETE FROM session_open WHERE toUnixTimestamp64Milli(start) = 0;
