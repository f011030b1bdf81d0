-- JupyterHub per UTC day: logins, spawns begun and servers started (spawner hooks).
SELECT CAST(ts AS DATE) AS day,
       count(*) FILTER (WHERE schema = 'https://telemetry.jupyter.org/schemas/events/hub/login')
           AS logins,
       count(*) FILTER (WHERE action = 'spawning') AS spawns,
       count(*) FILTER (WHERE action = 'started') AS servers_started,
       count(DISTINCT "user") AS users
FROM events
WHERE schema = 'https://telemetry.jupyter.org/schemas/events/hub/login'
   OR (schema = 'https://telemetry.jupyter.org/schemas/events/hub/server' AND source = 'spawner')
GROUP BY 1
ORDER BY 1
