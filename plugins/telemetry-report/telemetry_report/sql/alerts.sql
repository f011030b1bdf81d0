-- Detection alerts (telemetry-detect) by rule.
SELECT rule_id, coalesce(title, rule_id) AS title, coalesce(level, '') AS level,
       count(*) AS alerts, count(DISTINCT "user") AS users
FROM events
WHERE schema = 'https://telemetry.jupyter.org/schemas/events/detect/alert'
GROUP BY 1, 2, 3
ORDER BY alerts DESC, rule_id
