-- One row per kernel seen in the period: when it started and stopped, its name, its
-- user, and its hours: the lifetime the server reported when it stopped, else the time
-- from its start to the end of the period (still running).
CREATE VIEW kernels AS
WITH life AS (
    SELECT kernel_id,
           min(ts) FILTER (WHERE action = 'started') AS started,
           max(ts) FILTER (WHERE action IN ('stopped', 'died')) AS stopped,
           max(lifetime_s) FILTER (WHERE action IN ('stopped', 'died')) AS lifetime_s,
           max(kernel_name) AS kernel_name,
           max("user") AS "user"
    FROM events
    WHERE schema = 'https://telemetry.jupyter.org/schemas/events/kernel/lifecycle'
      AND kernel_id IS NOT NULL
    GROUP BY kernel_id)
SELECT life.*,
       coalesce(lifetime_s,
                epoch(coalesce(stopped, period.end_ts) - started)) / 3600.0 AS hours
FROM life, period
WHERE started IS NOT NULL OR lifetime_s IS NOT NULL;
