-- title: Requests over deprecated TLS versions
-- kind: hunt
-- source: both
-- description: >
--   Requests negotiated with TLS 1.0 or 1.1 (configurable), from either source: old tooling,
--   scripts on outdated systems, or a client that is not what it claims. One row per principal,
--   address and TLS version, split into object and bucket operations. A request present in both
--   sources is counted once.
-- params:
--   tls_versions: {type: "string[]", default: [TLSv1, TLSv1.1], description: "TLS versions to report (any letter case: AWS has logged both TLSv1.2 and TLSV1.2)"}
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH old_tls AS (
    SELECT 's3-access' AS source, event_time, principal, remote_ip AS source_ip, tls_version,
           bucket, object_key, user_agent
    FROM access_requests
    WHERE list_contains(list_transform($tls_versions, lambda v: lower(v)), lower(tls_version))
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
    UNION ALL
    SELECT 'cloudtrail', event_time, principal, source_ip, tls_version, bucket, object_key, user_agent
    FROM trail_events c
    WHERE list_contains(list_transform($tls_versions, lambda v: lower(v)), lower(tls_version))
      AND NOT EXISTS (SELECT 1 FROM s3_access_logs s WHERE s.request_id = c.request_id)
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT principal, source_ip, tls_version,
       count(*) AS requests,
       count(*) FILTER (WHERE object_key IS NOT NULL) AS object_requests,
       count(*) FILTER (WHERE object_key IS NULL) AS bucket_requests,
       count(DISTINCT bucket) AS buckets,
       count(DISTINCT user_agent) AS user_agents,
       min(user_agent) AS sample_user_agent,
       list_sort(list(DISTINCT source)) AS sources,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM old_tls
GROUP BY principal, source_ip, tls_version
ORDER BY requests DESC, principal, source_ip NULLS LAST, tls_version
