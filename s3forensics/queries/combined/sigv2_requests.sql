-- title: Requests signed with Signature Version 2
-- kind: hunt
-- source: both
-- description: >
--   Requests signed with the deprecated SigV2 scheme, from the access log's signature version
--   and CloudTrail's additionalEventData.SignatureVersion: legacy clients or hand-rolled tools
--   worth identifying. One row per principal and address. A request present in both sources is
--   counted once.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH v2 AS (
    SELECT 's3-access' AS source, event_time, principal, remote_ip AS source_ip, operation,
           bucket, user_agent, succeeded
    FROM access_requests
    WHERE signature_version = 'SigV2'
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
    UNION ALL
    SELECT 'cloudtrail', event_time, principal, source_ip, event_name, bucket, user_agent, succeeded
    FROM trail_events c
    WHERE json_extract_string(additional_event_data, '$.SignatureVersion') = 'SigV2'
      AND NOT EXISTS (SELECT 1 FROM s3_access_logs s WHERE s.request_id = c.request_id)
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT principal, source_ip,
       count(*) AS requests,
       count(*) FILTER (WHERE NOT succeeded) AS failed,
       list_sort(list(DISTINCT operation)) AS operations,
       count(DISTINCT bucket) AS buckets,
       count(DISTINCT user_agent) AS user_agents,
       min(user_agent) AS sample_user_agent,
       list_sort(list(DISTINCT source)) AS sources,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM v2
GROUP BY principal, source_ip
ORDER BY requests DESC, principal, source_ip NULLS LAST
