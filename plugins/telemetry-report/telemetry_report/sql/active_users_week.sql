-- Users with at least one recorded event, per week (weeks start on Monday).
SELECT CAST(date_trunc('week', ts) AS DATE) AS week, count(DISTINCT "user") AS users
FROM events
WHERE "user" IS NOT NULL
GROUP BY 1
ORDER BY 1
