-- Sessions the closer completes now, with what it needs, computed from stored events only.
-- Parameters: $now (epoch ms), $inactivity_ms, $max_ms, $max_actions, $limit (sessions at most).
-- Due: an explicit end, no beacon for $inactivity_ms, $max_ms reached, or $max_actions actions.
-- A session counts its first $max_actions actions in its first $max_ms (Dynatrace's limits; the
-- agent starts a new session then); errors and rage clicks count until the session's end.
-- No action of an open session is older than the earliest start of one (a session starts at its
-- first action): the blocks of older actions are skipped. Which sessions are due is decided from
-- their rows and a count of their actions; only the due sessions' actions are read whole.
WITH live AS (
    SELECT app, session_id, epoch_ms(start) AS s0, epoch_ms(last_seen) AS s1,
           epoch_ms(last_received) AS rcv, ended
    FROM sessions WHERE NOT closed
),
-- The open sessions with $max_actions actions in their first $max_ms.
capped AS (
    SELECT a.app, a.session_id
    FROM actions a JOIN live l ON a.app = l.app AND a.session_id = l.session_id
    WHERE epoch_ms(a.time) < l.s0 + $max_ms
          AND a.time >= (SELECT min(start) FROM sessions WHERE NOT closed)
    GROUP BY ALL HAVING count(*) >= $max_actions
),
due AS (
    SELECT * FROM (
        SELECT l.*,
               CASE WHEN l.ended THEN 'end'
                    WHEN capped.session_id IS NOT NULL THEN 'max_actions'
                    WHEN l.s1 - l.s0 >= $max_ms THEN 'max_duration'
                    WHEN $now - greatest(l.rcv, l.s1) >= $inactivity_ms THEN 'inactivity'
               END AS end_reason
        FROM live l LEFT JOIN capped ON capped.app = l.app AND capped.session_id = l.session_id
    )
    WHERE end_reason IS NOT NULL
    ORDER BY app, session_id
    LIMIT $limit
),
ranked AS (
    SELECT a.app, a.session_id, epoch_ms(a.time) AS t,
           epoch_ms(a.time) + coalesce(a.duration, 0) AS t_end, a.apdex,
           row_number() OVER (PARTITION BY a.app, a.session_id ORDER BY a.time, a.eid) AS n
    FROM actions a JOIN due d ON a.app = d.app AND a.session_id = d.session_id
    WHERE epoch_ms(a.time) < d.s0 + $max_ms
          AND a.time >= (SELECT min(start) FROM sessions WHERE NOT closed)
),
acts AS (
    SELECT app, session_id,
           count(*) FILTER (WHERE n <= $max_actions) AS actions,
           count(*) FILTER (WHERE n <= $max_actions AND apdex = 'S') AS s,
           count(*) FILTER (WHERE n <= $max_actions AND apdex = 'T') AS t,
           count(*) FILTER (WHERE n <= $max_actions AND apdex = 'F') AS f,
           min(t) AS first_start,
           max(t_end) FILTER (WHERE n <= $max_actions) AS last_end,
           arg_max(apdex, n) FILTER (WHERE n <= $max_actions) AS last_class
    FROM ranked GROUP BY app, session_id
),
errs AS (
    SELECT e.app, e.session_id, sum(e.count) AS errors,
           sum(e.count) FILTER (WHERE e.error_type = 'custom' AND lower(e.error_name) = 'crash')
               AS crashes
    FROM errors e JOIN due d ON e.app = d.app AND e.session_id = d.session_id
    WHERE epoch_ms(e.time) < d.s0 + $max_ms
    GROUP BY ALL
),
rage AS (
    SELECT u.app, u.session_id, count(*) AS rage_clicks
    FROM user_events u JOIN due d ON u.app = d.app AND u.session_id = d.session_id
    WHERE u.event_type = 'rage_click'
          AND epoch_ms(u.time) < d.s0 + $max_ms
    GROUP BY ALL
)
SELECT d.app, d.session_id, d.end_reason,
       (acts.last_end - acts.first_start)::DOUBLE AS duration,
       coalesce(acts.actions, 0) AS actions, coalesce(acts.s, 0) AS s, coalesce(acts.t, 0) AS t,
       coalesce(acts.f, 0) AS f, acts.last_class,
       coalesce(errs.errors, 0) AS errors, coalesce(errs.crashes, 0) AS crashes,
       coalesce(rage.rage_clicks, 0) AS rage_clicks
FROM due d
LEFT JOIN acts ON acts.app = d.app AND acts.session_id = d.session_id
LEFT JOIN errs ON errs.app = d.app AND errs.session_id = d.session_id
LEFT JOIN rage ON rage.app = d.app AND rage.session_id = d.session_id
ORDER BY d.app, d.session_id
