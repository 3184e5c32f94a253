-- Completed sessions (openrum/sessions.py): the closer fills these once, when a session ends.
-- A closed session is never changed again: events that arrive later stay at event level.
ALTER TABLE sessions ADD COLUMN closed BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE sessions ADD COLUMN end_reason VARCHAR;   -- end, inactivity, max_duration, max_actions
ALTER TABLE sessions ADD COLUMN duration DOUBLE;      -- ms: end of the last action - start of the first
ALTER TABLE sessions ADD COLUMN actions BIGINT;
ALTER TABLE sessions ADD COLUMN errors BIGINT;
ALTER TABLE sessions ADD COLUMN rage_clicks BIGINT;
ALTER TABLE sessions ADD COLUMN bounce BOOLEAN;       -- one action or fewer
ALTER TABLE sessions ADD COLUMN ux_score VARCHAR;     -- satisfying, tolerable, frustrating
