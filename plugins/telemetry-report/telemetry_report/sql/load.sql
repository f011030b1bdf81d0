-- DuckDB: one batch of event files -> the narrow `events` table every figure reads.
-- {files} is a list of paths or s3:// URLs (JSON lines, gzip by their .gz suffix).
-- Every field is read as text and cast here, so a schema of someone else's that uses a
-- name below with another type cannot fail the load; a field an event lacks is NULL.
INSERT INTO events
SELECT
    CAST(replace("__timestamp__", 'Z', '') AS TIMESTAMP) AS ts,
    "__schema__" AS schema,
    "__schema_version__" AS version,
    -- Who: the subject pseudonym where events carry one (a person's rights), else the
    -- user field; a value sealed per user (enc:v1:...) differs in every event, so it
    -- never counts as a user, and a sealed path is shown as such.
    coalesce("__subject__", CASE WHEN starts_with("user", 'enc:v1:') THEN NULL
                                 ELSE "user" END) AS "user",
    action, scope, source, status, kernel_id, kernel_name,
    TRY_CAST(lifetime_s AS DOUBLE) AS lifetime_s,
    TRY_CAST(duration_ms AS DOUBLE) AS duration_ms,
    command_id, session_id, kind, format,
    CASE WHEN starts_with(path, 'enc:v1:') THEN '(encrypted per user)' ELSE path END AS path,
    server_name,
    TRY_CAST(granted AS BOOLEAN) AS granted,
    notice_version, rule_id, title, level
FROM read_json({files},
    format = 'newline_delimited',
    ignore_errors = true,
    maximum_object_size = 16777216,
    columns = {
        '__timestamp__': 'VARCHAR', '__schema__': 'VARCHAR', '__schema_version__': 'VARCHAR',
        '__subject__': 'VARCHAR',
        'user': 'VARCHAR', 'action': 'VARCHAR', 'scope': 'VARCHAR', 'source': 'VARCHAR',
        'status': 'VARCHAR', 'kernel_id': 'VARCHAR', 'kernel_name': 'VARCHAR',
        'lifetime_s': 'VARCHAR', 'duration_ms': 'VARCHAR', 'command_id': 'VARCHAR',
        'session_id': 'VARCHAR', 'kind': 'VARCHAR', 'format': 'VARCHAR', 'path': 'VARCHAR',
        'server_name': 'VARCHAR', 'granted': 'VARCHAR', 'notice_version': 'VARCHAR',
        'rule_id': 'VARCHAR', 'title': 'VARCHAR', 'level': 'VARCHAR'})
WHERE "__schema__" IS NOT NULL
  AND "__timestamp__" >= {since} AND "__timestamp__" < {until}
