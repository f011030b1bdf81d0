-- Datasets opened (contents API or kernel), by format and path (where the policy kept it).
SELECT coalesce(format, '(unknown)') AS format, CASE WHEN path IS NULL THEN '(not recorded)'
                 WHEN path LIKE 'hmac-sha256:%' THEN '(pseudonymised)'
                 ELSE path END AS path,
       count(*) AS opens, count(DISTINCT "user") AS users
FROM events
WHERE schema = 'https://telemetry.jupyter.org/schemas/events/contents/dataset-opened'
GROUP BY 1, 2
ORDER BY opens DESC, format, path
