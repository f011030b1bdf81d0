-- Sessions (server-session, scope session) and kernels started per UTC day.
SELECT CAST(ts AS DATE) AS day,
       count(*) FILTER (WHERE schema = 'https://telemetry.jupyter.org/schemas/events/server/session'
                          AND scope = 'session') AS sessions_started,
       count(*) FILTER (WHERE schema = 'https://telemetry.jupyter.org/schemas/events/kernel/lifecycle')
           AS kernels_started,
       count(DISTINCT "user") AS users
FROM events
WHERE action = 'started'
  AND schema IN ('https://telemetry.jupyter.org/schemas/events/server/session',
                 'https://telemetry.jupyter.org/schemas/events/kernel/lifecycle')
GROUP BY 1
ORDER BY 1
