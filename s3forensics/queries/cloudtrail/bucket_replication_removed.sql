-- title: Bucket replication removed
-- kind: detection
-- severity: medium
-- mitre: [T1490, T1562]
-- source: cloudtrail
-- description: >
--   DeleteBucketReplication: the bucket stops copying new objects to its replica, often the copy a
--   recovery from ransomware or deletion would rely on. Failed attempts are reported too.
-- benign:
--   - "Planned changes of a disaster-recovery setup (a new destination replaces the old one): a
--     PutBucketReplication by the same administrator usually follows within minutes."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
-- ---
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, bucket, NULL::VARCHAR AS object_key, 1::BIGINT AS events,
       'replication configuration deleted' ||
       CASE WHEN succeeded THEN '' ELSE ' (failed: ' || error_code || ')' END AS detail
FROM trail_events
WHERE event_source = 's3.amazonaws.com' AND event_name = 'DeleteBucketReplication'
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
ORDER BY first_seen, principal, bucket
