-- Sessions the closer completes now (ClickHouse; the same as due_sessions.duckdb.sql, in
-- ClickHouse's spelling). Parameters: $now (epoch ms), $inactivity_ms, $max_ms, $max_actions.
-- Due: an explicit end, no beacon for $inactivity_ms, $max_ms reached, or $max_actions actions.
-- A session counts its first $max_actions actions in its first $max_ms; errors and rage clicks
-- count until the session's end. Reads run with FINAL (a re-sent event counts once). Open
-- sessions are looked up in `session_open`, not among every session.
WITH live AS (
    SELECT app, session_id, toUnixTimestamp64Milli(start) AS s0,
           toUnixTimestamp64Milli(last_seen) AS s1,
           toUnixTimestamp64Milli(last_received) AS rcv, ended
    FROM sessions
    WHERE NOT closed AND (app, session_id) IN (SELECT app, session_id FROM session_open)
),
ranked AS (
    SELECT a.app AS app, a.session_id AS session_id, toUnixTimestamp64Milli(a.time) AS t_start,
           toUnixTimestamp64Milli(a.time) + coalesce(a.duration, 0) AS t_end, a.apdex AS apdex,
           row_number() OVER (PARTITION BY a.app, a.session_id ORDER BY a.time, a.eid) AS n
    FROM actions AS a INNER JOIN live AS l ON a.app = l.app AND a.session_id = l.session_id
    WHERE toUnixTimestamp64Milli(a.time) < l.s0 + $max_ms
),
acts AS (
    SELECT app, session_id, count() AS seen,
           countIf(n <= $max_actions) AS actions,
           countIf(n <= $max_actions AND apdex = 'S') AS s,
           countIf(n <= $max_actions AND apdex = 'T') AS t,
           countIf(n <= $max_actions AND apdex = 'F') AS f,
           min(t_start) AS first_start,
           maxIf(t_end, n <= $max_actions) AS last_end,
           argMaxIf(apdex, n, n <= $max_actions) AS last_class
    FROM ranked GROUP BY app, session_id
),
due AS (
    SELECT l.app AS app, l.session_id AS session_id, l.s0 AS s0, acts.actions AS actions,
           acts.s AS s, acts.t AS t, acts.f AS f, acts.first_start AS first_start,
           acts.last_end AS last_end, acts.last_class AS last_class,
           CASE WHEN l.ended THEN 'end'
                WHEN coalesce(acts.seen, 0) >= $max_actions THEN 'max_actions'
                WHEN l.s1 - l.s0 >= $max_ms THEN 'max_duration'
                WHEN $now - greatest(l.rcv, l.s1) >= $inactivity_ms THEN 'inactivity'
           END AS end_reason
    FROM live AS l LEFT JOIN acts ON acts.app = l.app AND acts.session_id = l.session_id
),
errs AS (
    SELECT e.app AS app, e.session_id AS session_id, sum(e.count) AS errors,
           sumIf(e.count, e.error_type = 'custom' AND lower(e.error_name) = 'crash') AS crashes
    FROM errors AS e INNER JOIN due AS d ON e.app = d.app AND e.session_id = d.session_id
    WHERE d.end_reason IS NOT NULL AND toUnixTimestamp64Milli(e.time) < d.s0 + $max_ms
    GROUP BY e.app, e.session_id
),
rage AS (
    SELECT u.app AS app, u.session_id AS session_id, count() AS rage_clicks
    FROM user_events AS u INNER JOIN due AS d ON u.app = d.app AND u.session_id = d.session_id
    WHERE d.end_reason IS NOT NULL AND u.event_type = 'rage_click'
          AND toUnixTimestamp64Milli(u.time) < d.s0 + $max_ms
    GROUP BY u.app, u.session_id
)
SELECT d.app AS app, d.session_id AS session_id, d.end_reason AS end_reason,
       toFloat64(d.last_end - d.first_start) AS duration,
       coalesce(d.actions, 0) AS actions, coalesce(d.s, 0) AS s, coalesce(d.t, 0) AS t,
       coalesce(d.f, 0) AS f, d.last_class AS last_class,
       coalesce(errs.errors, 0) AS errors, coalesce(errs.crashes, 0) AS crashes,
       coalesce(rage.rage_clicks, 0) AS rage_clicks
FROM due AS d
LEFT JOIN errs ON errs.app = d.app AND errs.session_id = d.session_id
LEFT JOIN rage ON rage.app = d.app AND rage.session_id = d.session_id
WHERE d.end_reason IS NOT NULL
ORDER BY d.app, d.session_id
LIMIT $limit
