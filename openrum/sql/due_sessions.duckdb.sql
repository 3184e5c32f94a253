-- Sessions the closer completes now, with what it needs, computed from stored events only.
-- Parameters: $now (epoch ms), $inactivity_ms, $max_ms, $max_actions.
-- Due: an explicit end, no beacon for $inactivity_ms, $max_ms reached, or $max_actions actions.
-- A session counts its first $max_actions actions in its first $max_ms (Dynatrace's limits; the
-- agent starts a new session then); errors and rage clicks count until the session's end.
-- No action of an open session is older than the earliest start of one (a session starts at its
-- first action): the blocks of older actions are skipped.
WITH live AS (
    SELECT app, session_id, epoch_ms(start) AS s0, epoch_ms(last_seen) AS s1,
           epoch_ms(last_received) AS rcv, ended
    FROM sessions WHERE NOT closed
),
ranked AS (
    SELECT a.app, a.session_id, epoch_ms(a.time) AS t,
           epoch_ms(a.time) + coalesce(a.duration, 0) AS t_end, a.apdex,
           row_number() OVER (PARTITION BY a.app, a.session_id ORDER BY a.time, a.eid) AS n
    FROM actions a JOIN live l ON a.app = l.app AND a.session_id = l.session_id
    WHERE epoch_ms(a.time) < l.s0 + $max_ms
          AND a.time >= (SELECT min(start) FROM sessions WHERE NOT closed)
),
acts AS (
    SELECT app, session_id, count(*) AS seen,
           count(*) FILTER (WHERE n <= $max_actions) AS actions,
           count(*) FILTER (WHERE n <= $max_actions AND apdex = 'S') AS s,
           count(*) FILTER (WHERE n <= $max_actions AND apdex = 'T') AS t,
           count(*) FILTER (WHERE n <= $max_actions AND apdex = 'F') AS f,
           min(t) AS first_start,
           max(t_end) FILTER (WHERE n <= $max_actions) AS last_end,
           arg_max(apdex, n) FILTER (WHERE n <= $max_actions) AS last_class
    FROM ranked GROUP BY app, session_id
),
due AS (
    SELECT l.*, acts.* EXCLUDE (app, session_id),
           CASE WHEN l.ended THEN 'end'
                WHEN coalesce(acts.seen, 0) >= $max_actions THEN 'max_actions'
                WHEN l.s1 - l.s0 >= $max_ms THEN 'max_duration'
                WHEN $now - greatest(l.rcv, l.s1) >= $inactivity_ms THEN 'inactivity'
           END AS end_reason
    FROM live l LEFT JOIN acts ON acts.app = l.app AND acts.session_id = l.session_id
),
errs AS (
    SELECT e.app, e.session_id, sum(e.count) AS errors,
           sum(e.count) FILTER (WHERE e.error_type = 'custom' AND lower(e.error_name) = 'crash')
               AS crashes
    FROM errors e JOIN due d ON e.app = d.app AND e.session_id = d.session_id
    WHERE d.end_reason IS NOT NULL AND epoch_ms(e.time) < d.s0 + $max_ms
    GROUP BY ALL
),
rage AS (
    SELECT u.app, u.session_id, count(*) AS rage_clicks
    FROM user_events u JOIN due d ON u.app = d.app AND u.session_id = d.session_id
    WHERE d.end_reason IS NOT NULL AND u.event_type = 'rage_click'
          AND epoch_ms(u.time) < d.s0 + $max_ms
    GROUP BY ALL
)
SELECT d.app, d.session_id, d.end_reason,
       (d.last_end - d.first_start)::DOUBLE AS duration,
       coalesce(d.actions, 0) AS actions, coalesce(d.s, 0) AS s, coalesce(d.t, 0) AS t,
       coalesce(d.f, 0) AS f, d.last_class,
       coalesce(errs.errors, 0) AS errors, coalesce(errs.crashes, 0) AS crashes,
       coalesce(rage.rage_clicks, 0) AS rage_clicks
FROM due d
LEFT JOIN errs ON errs.app = d.app AND errs.session_id = d.session_id
LEFT JOIN rage ON rage.app = d.app AND rage.session_id = d.session_id
WHERE d.end_reason IS NOT NULL
ORDER BY d.app, d.session_id
LIMIT $limit
