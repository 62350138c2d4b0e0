-- title: Authenticated object requests over plain HTTP
-- kind: hunt
-- source: s3-access
-- mitre: [T1040]
-- description: >
--   Signed object requests that used no TLS (no cipher suite or no TLS version logged): request
--   signatures, and often data, crossed the network in clear text. Only access log rows that
--   record an authentication type count, since older log formats record no TLS fields at all.
--   One row per principal, address and bucket.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
SELECT principal, remote_ip AS source_ip, bucket,
       count(*) AS requests,
       count(DISTINCT object_key) AS objects,
       list_sort(list(DISTINCT operation)) AS operations,
       coalesce(sum(bytes_sent), 0)::BIGINT AS bytes_sent,
       coalesce(list_sort(list(DISTINCT host_header) FILTER (WHERE host_header IS NOT NULL)), []) AS host_headers,
       min(user_agent) AS sample_user_agent,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM access_requests
WHERE authentication_type IS NOT NULL
  AND object_key IS NOT NULL AND NOT is_s3_internal
  AND (cipher_suite IS NULL OR tls_version IS NULL)
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY principal, remote_ip, bucket
ORDER BY requests DESC, principal, source_ip NULLS LAST, bucket
