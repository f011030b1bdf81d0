-- What the sinks counted (--spool-root: the stats.json each sink's spool slot holds),
-- summed over slots: events accepted, delivered, waiting in the spool, dead-lettered
-- (rejected for good) and dropped (lost: queue or spool full). Machinery, not people:
-- no user is behind a row, so no group size applies.
SELECT sink,
       sum(value) FILTER (WHERE counter = 'accepted') AS accepted,
       sum(value) FILTER (WHERE counter = 'delivered') AS delivered,
       sum(value) FILTER (WHERE counter = 'spooled') AS spooled,
       sum(value) FILTER (WHERE counter = 'dead_lettered') AS dead_lettered,
       sum(value) FILTER (WHERE counter = 'dropped') AS dropped
FROM sink_counters
GROUP BY 1
ORDER BY 1
