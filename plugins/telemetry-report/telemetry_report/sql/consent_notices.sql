-- The notice versions users decided against, and when each was in force.
SELECT notice_version,
       CAST(min(ts) AS DATE) AS first_seen, CAST(max(ts) AS DATE) AS last_seen,
       count(*) AS decisions,
       count(*) FILTER (WHERE granted) AS opt_in,
       count(*) FILTER (WHERE NOT granted) AS opt_out,
       count(DISTINCT "user") AS users
FROM events
WHERE schema = 'https://telemetry.jupyter.org/schemas/events/consent/decision'
GROUP BY 1
ORDER BY first_seen, notice_version
