-- title: Bucket deleted (or a deletion attempted)
-- kind: detection
-- severity: critical
-- mitre: [T1485]
-- source: both
-- description: >
--   DeleteBucket calls, including failed attempts, from CloudTrail and from the access logs
--   (REST.DELETE.BUCKET); a request seen in both is reported once. A bucket can only be deleted
--   once it is empty, so a deletion usually ends a destruction that began with its objects.
-- benign:
--   - "Tearing down test or temporary buckets (infrastructure-as-code destroy): usually empty buckets, by the deployment role."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
-- ---
WITH attempts AS (
    SELECT event_time, actor, source_ip, access_key_id, bucket, request_id, succeeded, error_code
    FROM trail_events
    WHERE event_name = 'DeleteBucket'
    UNION ALL
    SELECT a.event_time, a.actor, a.remote_ip, NULL, a.bucket, a.request_id, a.succeeded,
           coalesce(a.error_code, a.http_status::VARCHAR)
    FROM access_requests a
    WHERE a.operation = 'REST.DELETE.BUCKET'
      AND NOT EXISTS (SELECT 1 FROM trail_events t
                      WHERE t.event_name = 'DeleteBucket' AND t.request_id = a.request_id)
)
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, bucket, NULL::VARCHAR AS object_key, 1::BIGINT AS events,
       CASE WHEN succeeded THEN 'DeleteBucket' ELSE 'DeleteBucket (failed: ' || error_code || ')' END
           AS detail
FROM attempts
WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
ORDER BY first_seen, principal, bucket
