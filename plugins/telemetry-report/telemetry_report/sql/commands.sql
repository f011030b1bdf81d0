-- JupyterLab commands by how often they were run (most used first).
SELECT command_id, count(*) AS uses, count(DISTINCT "user") AS users
FROM events
WHERE schema = 'https://telemetry.jupyter.org/schemas/events/jupyterlab/command'
  AND command_id IS NOT NULL
GROUP BY 1
ORDER BY uses DESC, command_id
