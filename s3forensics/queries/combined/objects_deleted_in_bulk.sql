-- title: Objects deleted in bulk by a person or key
-- kind: detection
-- severity: high
-- mitre: [T1485]
-- source: both
-- description: >
--   Many object deletions by one actor from one address within a short period. Each key of a
--   batch delete counts (from the access log's per-key lines); lifecycle expirations are S3's own
--   actions and are not counted. A DeleteObjects call seen only in CloudTrail names no keys and
--   counts as its batch size when known, else once.
-- stratus:
--   - aws.impact.s3-ransomware-batch-deletion
--   - aws.impact.s3-ransomware-individual-deletion
-- benign:
--   - "S3 lifecycle expirations (S3.EXPIRE.OBJECT by AmazonS3): S3's own actions, never counted."
--   - "Clean-up jobs deleting scratch data every night: raise min_deletes above their steady count."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   window_minutes: {type: integer, default: 60, description: "Length of the period deletions are counted in"}
--   min_deletes: {type: integer, default: 20, description: "Deleted objects in one period that make a finding"}
-- ---
WITH deletes AS (
    SELECT event_time, actor, source_ip, access_key_id, bucket, object_key, 1 AS n
    FROM actor_activity
    WHERE succeeded AND NOT is_service AND NOT also_in_access_log
      AND operation IN ('REST.DELETE.OBJECT', 'BATCH.DELETE.OBJECT', 'SOAP.DeleteObject',
                        'DeleteObject', 'DeleteObjectVersion')
    UNION ALL
    SELECT b.event_time, b.actor, b.source_ip, b.access_key_id, b.bucket, NULL,
           greatest(coalesce(json_array_length(c.request_parameters, '$.delete.Object'), 1), 1)
    FROM batch_delete_keys b
    JOIN cloudtrail_events c ON c.evidence_id = b.evidence_id AND c.record_no = b.record_no
    WHERE NOT b.keys_from_access_log AND c.error_code IS NULL
),
windowed AS (
    SELECT *, time_bucket(to_minutes($window_minutes), event_time) AS period FROM deletes
    WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT min(event_time) AS first_seen, max(event_time) AS last_seen, actor AS principal, source_ip,
       list_sort(list_distinct(list(access_key_id))) AS access_key_id,
       list_sort(list_distinct(list(bucket))) AS bucket,
       list_sort(list_distinct(list(object_key))) AS object_key,
       sum(n)::BIGINT AS events,
       sum(n) || ' objects deleted in ' || $window_minutes || ' min' AS detail
FROM windowed
GROUP BY actor, source_ip, period
HAVING sum(n) >= $min_deletes
ORDER BY first_seen, principal, source_ip
