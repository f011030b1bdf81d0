-- Code run on kernels by the status the kernel replied with.
SELECT coalesce(status, '(not recorded)') AS status,
       count(*) AS executions,
       round(count(*) / sum(count(*)) OVER (), 4) AS share,
       count(DISTINCT "user") AS users
FROM events
WHERE schema = 'https://telemetry.jupyter.org/schemas/events/kernel/code-executed'
GROUP BY 1
ORDER BY executions DESC, status
