-- Idle kernels: started, then at least `idle_minutes` without code run (after the start,
-- between two runs, or before the stop / the end of the period), by kernel name.
WITH points AS (
    SELECT kernel_id, started AS t FROM kernels WHERE started IS NOT NULL
    UNION ALL
    SELECT e.kernel_id, e.ts FROM events e JOIN kernels k ON k.kernel_id = e.kernel_id
    WHERE e.schema = 'https://telemetry.jupyter.org/schemas/events/kernel/code-executed'
      AND k.started IS NOT NULL AND e.ts >= k.started
    UNION ALL
    SELECT kernel_id, least(coalesce(stopped, period.end_ts), period.end_ts)
    FROM kernels, period WHERE started IS NOT NULL),
gaps AS (
    SELECT kernel_id, max(gap) AS longest_gap
    FROM (SELECT kernel_id, epoch(t - lag(t) OVER (PARTITION BY kernel_id ORDER BY t)) AS gap
          FROM points)
    GROUP BY kernel_id)
SELECT coalesce(k.kernel_name, '(not recorded)') AS kernel_name,
       count(*) AS kernels,
       count(*) FILTER (WHERE g.longest_gap >= period.idle_minutes * 60) AS idle_kernels,
       count(DISTINCT k."user") AS users
FROM kernels k JOIN gaps g ON g.kernel_id = k.kernel_id, period
WHERE k.started IS NOT NULL
GROUP BY 1
ORDER BY idle_kernels DESC, kernel_name
