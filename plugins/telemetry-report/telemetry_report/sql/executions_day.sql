-- Code run on kernels per UTC day, and the share that ended in an error.
SELECT CAST(ts AS DATE) AS day,
       count(*) AS executions,
       count(*) FILTER (WHERE status = 'error') AS errors,
       round(count(*) FILTER (WHERE status = 'error') / count(*), 4) AS error_rate,
       count(DISTINCT "user") AS users
FROM events
WHERE schema = 'https://telemetry.jupyter.org/schemas/events/kernel/code-executed'
GROUP BY 1
ORDER BY 1
