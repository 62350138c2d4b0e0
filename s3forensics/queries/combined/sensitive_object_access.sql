-- title: Requests on objects with sensitive-looking names
-- kind: hunt
-- source: both
-- mitre: [T1530, T1552.001]
-- description: >
--   Requests on objects whose key matches any of a list of SQL LIKE patterns (case-insensitive):
--   secrets, credentials, keys, environment files, database dumps and backups. One row per
--   object, principal and address, with the patterns matched, operations, outcomes and bytes. A
--   request present in both sources is counted once. AWS services acting on their own (log
--   delivery, lifecycle, CloudFront) are left out unless asked for.
-- params:
--   key_patterns:
--     type: string[]
--     default: ['%.env', '%secret%', '%password%', '%passwd%', '%credential%', '%.pem', '%.key',
--               '%.pfx', '%.p12', '%id_rsa%', '%id_ed25519%', '%.kdbx', '%backup%', '%.bak',
--               '%.sql', '%.sql.gz', '%.dump', '%token%', '%.tfstate']
--     description: "SQL LIKE patterns matched case-insensitively against object keys (comma-separated on the CLI)"
--   include_services: {type: boolean, default: false, description: "Also list AWS services acting on their own"}
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH hits AS (
    SELECT *, list_filter($key_patterns, lambda pattern: object_key ILIKE pattern) AS matched
    FROM actor_activity
    WHERE object_key IS NOT NULL AND NOT coalesce(also_in_access_log, false)
      AND ($include_services OR NOT coalesce(is_service, false))
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT bucket, object_key, principal, source_ip,
       list_sort(list_distinct(flatten(list(matched)))) AS matched_patterns,
       count(*) AS requests,
       count(*) FILTER (WHERE succeeded) AS succeeded,
       count(*) FILTER (WHERE NOT succeeded) AS failed,
       list_sort(list(DISTINCT operation)) AS operations,
       coalesce(sum(bytes_out), 0)::BIGINT AS bytes_out,
       coalesce(list_sort(list(DISTINCT access_key_id) FILTER (WHERE access_key_id IS NOT NULL)), []) AS access_key_ids,
       list_sort(list(DISTINCT source)) AS sources,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM hits
WHERE array_length(matched) > 0
GROUP BY bucket, object_key, principal, source_ip
ORDER BY first_seen, bucket, object_key, principal, source_ip NULLS LAST
