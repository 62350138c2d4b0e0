-- title: Server access logging disabled on a bucket
-- kind: detection
-- severity: high
-- mitre: [T1562.008]
-- source: cloudtrail
-- description: >
--   PutBucketLogging whose new status has no LoggingEnabled element: the bucket stops writing
--   server access logs, the evidence of object-level activity that CloudTrail may not have.
-- benign:
--   - "Moving access logging to another target bucket is a PutBucketLogging with LoggingEnabled: not reported."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
-- ---
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, bucket, NULL::VARCHAR AS object_key, 1::BIGINT AS events,
       CASE WHEN succeeded THEN 'access logging turned off'
            ELSE 'attempt to turn access logging off failed: ' || error_code END AS detail
FROM trail_events
WHERE event_name = 'PutBucketLogging'
  AND NOT coalesce(request_parameters ILIKE '%LoggingEnabled%', false)
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
ORDER BY first_seen, principal, bucket
