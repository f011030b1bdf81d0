-- Consent decisions per week (from Monday), per scope (a schema or a group), yes and no.
SELECT CAST(date_trunc('week', ts) AS DATE) AS week, scope,
       CASE WHEN granted THEN 'opt-in' ELSE 'opt-out' END AS decision,
       replace(scope, 'https://telemetry.jupyter.org/schemas/events/', '')
           || (CASE WHEN granted THEN ' opt-in' ELSE ' opt-out' END) AS series,
       count(*) AS decisions, count(DISTINCT "user") AS users
FROM events
WHERE schema = 'https://telemetry.jupyter.org/schemas/events/consent/decision'
  AND granted IS NOT NULL
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3
