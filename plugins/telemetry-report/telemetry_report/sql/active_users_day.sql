-- Users with at least one recorded event, per UTC day.
SELECT CAST(ts AS DATE) AS day, count(DISTINCT "user") AS users
FROM events
WHERE "user" IS NOT NULL
GROUP BY 1
ORDER BY 1
