-- Files, notebooks and datasets opened, by kind and path (the path only where the policy
-- kept it; "(not recorded)" where it was redacted).
SELECT kind, CASE WHEN path IS NULL THEN '(not recorded)'
                 WHEN path LIKE 'hmac-sha256:%' THEN '(pseudonymised)'
                 ELSE path END AS path,
       count(*) AS opens, count(DISTINCT "user") AS users
FROM events
WHERE schema = 'https://telemetry.jupyter.org/schemas/events/contents/opened'
GROUP BY 1, 2
ORDER BY opens DESC, kind, path
