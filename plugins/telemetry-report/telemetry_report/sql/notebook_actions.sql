-- Notebook actions in JupyterLab / Notebook 7 (cells run, edited, added, removed, ...).
SELECT replace(schema, 'https://telemetry.jupyter.org/schemas/events/jupyterlab/', '') AS action,
       count(*) AS uses, count(DISTINCT "user") AS users
FROM events
WHERE schema LIKE 'https://telemetry.jupyter.org/schemas/events/jupyterlab/notebook/%'
   OR schema = 'https://telemetry.jupyter.org/schemas/events/jupyterlab/document-opened'
GROUP BY 1
ORDER BY uses DESC, action
