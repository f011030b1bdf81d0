-- Events in the period by schema and version.
SELECT schema, version, count(*) AS events
FROM events
GROUP BY 1, 2
ORDER BY 1, 2
