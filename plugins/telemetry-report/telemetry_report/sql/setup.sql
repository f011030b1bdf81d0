-- The tables the figures read: `events` (filled by load.sql), `period` (one row: the
-- report's window and the idle threshold), `user_groups` (user or pseudonym -> group),
-- `sink_counters` (from the stats files running sinks leave in their spool slots).
CREATE TABLE events (
    ts TIMESTAMP, schema VARCHAR, version VARCHAR, "user" VARCHAR, action VARCHAR,
    scope VARCHAR, source VARCHAR, status VARCHAR, kernel_id VARCHAR, kernel_name VARCHAR,
    lifetime_s DOUBLE, duration_ms DOUBLE, command_id VARCHAR, session_id VARCHAR,
    kind VARCHAR, format VARCHAR, path VARCHAR, server_name VARCHAR, granted BOOLEAN,
    notice_version VARCHAR, rule_id VARCHAR, title VARCHAR, level VARCHAR);
CREATE TABLE period (start_ts TIMESTAMP, end_ts TIMESTAMP, idle_minutes DOUBLE);
CREATE TABLE user_groups ("user" VARCHAR, user_group VARCHAR);
CREATE TABLE sink_counters (sink VARCHAR, counter VARCHAR, value BIGINT);
