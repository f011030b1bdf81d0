-- Spawns and how long they took: each `spawning` of a user's server (spawner hooks) is
-- paired with the next event of the same server; `started` is a success after that many
-- seconds, anything else (or nothing) a failure.
WITH ordered AS (
    SELECT action, ts,
           lead(action) OVER w AS next_action,
           lead(ts) OVER w AS next_ts,
           "user"
    FROM events
    WHERE schema = 'https://telemetry.jupyter.org/schemas/events/hub/server'
      AND source = 'spawner'
    WINDOW w AS (PARTITION BY "user", coalesce(server_name, '') ORDER BY ts)),
spawns AS (
    SELECT "user",
           CASE WHEN next_action = 'started' THEN epoch(next_ts - ts) END AS seconds
    FROM ordered WHERE action = 'spawning')
SELECT count(*) AS spawns,
       count(*) - count(seconds) AS failures,
       round(quantile_cont(seconds, 0.5), 2) AS p50_s,
       round(quantile_cont(seconds, 0.9), 2) AS p90_s,
       round(quantile_cont(seconds, 0.99), 2) AS p99_s,
       round(max(seconds), 2) AS max_s,
       count(DISTINCT "user") AS users
FROM spawns
HAVING count(*) > 0
