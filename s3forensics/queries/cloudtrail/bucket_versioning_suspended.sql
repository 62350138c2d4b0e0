-- title: Bucket versioning suspended or MFA delete disabled
-- kind: detection
-- severity: high
-- mitre: [T1490, T1485]
-- source: cloudtrail
-- description: >
--   PutBucketVersioning that suspends versioning or turns MFA delete off: afterwards deletes and
--   overwrites destroy data instead of leaving recoverable versions. Often a step before ransom.
-- benign:
--   - "Suspending versioning on scratch buckets to save storage: check the bucket's purpose; re-enabling is not reported."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
-- ---
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, bucket, NULL::VARCHAR AS object_key, 1::BIGINT AS events,
       concat_ws('; ',
           CASE WHEN regexp_matches(request_parameters, '"Status"\s*:\s*"Suspended"') THEN 'versioning suspended' END,
           CASE WHEN regexp_matches(request_parameters, '"MfaDelete"\s*:\s*"Disabled"') THEN 'MFA delete disabled' END,
           CASE WHEN NOT succeeded THEN 'failed: ' || error_code END) AS detail
FROM trail_events
WHERE event_name = 'PutBucketVersioning'
  AND (regexp_matches(request_parameters, '"Status"\s*:\s*"Suspended"')
       OR regexp_matches(request_parameters, '"MfaDelete"\s*:\s*"Disabled"'))
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
ORDER BY first_seen, principal, bucket
