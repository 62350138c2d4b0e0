-- title: Requests made with presigned URLs
-- kind: hunt
-- source: both
-- mitre: [T1530, T1567]
-- description: >
--   Requests authenticated by a query-string signature (presigned URLs): the signer is the
--   principal, but whoever holds the URL makes the request, from anywhere, until it expires. One
--   row per signer, signing key, address and bucket, with the longest expiry requested. Many
--   addresses for one signer means a URL was shared. A request present in both sources is
--   counted once.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH presigned AS (
    SELECT 's3-access' AS source, event_time, principal, remote_ip AS source_ip, bucket, object_key,
           operation, succeeded, bytes_sent AS bytes_out, user_agent,
           coalesce(nullif(regexp_extract(request_uri, '[?&]X-Amz-Credential=([A-Za-z0-9]+)', 1), ''),
                    nullif(regexp_extract(request_uri, '[?&]AWSAccessKeyId=([A-Za-z0-9]+)', 1), ''),
                    access_key_id) AS signing_access_key,
           TRY_CAST(nullif(regexp_extract(request_uri, '[?&]X-Amz-Expires=([0-9]+)', 1), '') AS BIGINT) AS expires_seconds
    FROM access_log_identity
    WHERE authentication_type = 'QueryString'
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
    UNION ALL
    SELECT 'cloudtrail', event_time, principal, source_ip, bucket, object_key,
           event_name, succeeded, bytes_out, user_agent, access_key_id, NULL
    FROM trail_events c
    WHERE json_extract_string(additional_event_data, '$.AuthenticationMethod') = 'QueryString'
      AND NOT EXISTS (SELECT 1 FROM s3_access_logs s WHERE s.request_id = c.request_id)
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT principal, signing_access_key, source_ip, bucket,
       count(*) AS requests,
       count(DISTINCT object_key) AS objects,
       list_sort(list(DISTINCT operation)) AS operations,
       count(*) FILTER (WHERE NOT succeeded) AS failed,
       coalesce(sum(bytes_out), 0)::BIGINT AS bytes_out,
       max(expires_seconds) AS max_expires_seconds,
       count(DISTINCT user_agent) AS user_agents,
       min(user_agent) AS sample_user_agent,
       list_sort(list(DISTINCT source)) AS sources,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM presigned
GROUP BY principal, signing_access_key, source_ip, bucket
ORDER BY first_seen, principal, signing_access_key NULLS LAST, source_ip NULLS LAST, bucket
