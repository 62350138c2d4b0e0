-- title: Lifecycle rule that expires objects added
-- kind: detection
-- severity: high
-- mitre: [T1485, T1070]
-- source: cloudtrail
-- description: >
--   PutBucketLifecycle(Configuration) with an enabled Expiration or NoncurrentVersionExpiration
--   action: S3 itself will delete the data (and any evidence in it) later, without further calls
--   from the attacker. The shortest expiry in days is shown.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   max_days: {type: integer, default: 365, description: "Only report rules expiring objects within this many days"}
-- ---
WITH rules AS (
    SELECT *,
           list_min(list_transform(
               regexp_extract_all(request_parameters, '"(?:Days|NoncurrentDays)"\s*:\s*"?([0-9]+)', 1),
               lambda d: d::INTEGER)) AS min_days
    FROM trail_events
    WHERE event_name IN ('PutBucketLifecycle', 'PutBucketLifecycleConfiguration')
      AND regexp_matches(request_parameters, '"(Expiration|NoncurrentVersionExpiration)"')
      AND regexp_matches(request_parameters, '"Status"\s*:\s*"Enabled"')
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, bucket, NULL::VARCHAR AS object_key, 1::BIGINT AS events,
       'expiration rule added' || coalesce(' (objects expire after ' || min_days || ' days)', '') ||
       CASE WHEN succeeded THEN '' ELSE ', failed: ' || error_code END AS detail
FROM rules
WHERE min_days IS NULL OR min_days <= $max_days
ORDER BY first_seen, principal, bucket
