-- title: Object versions permanently destroyed in bulk
-- kind: detection
-- severity: critical
-- mitre: [T1485, T1490]
-- source: both
-- description: >
--   Many deletions of specific object versions (DeleteObject with a versionId, or the per-version
--   lines of a batch delete) by one actor from one address within a short period. A plain delete
--   in a versioned bucket only adds a delete marker; deleting a version destroys it for good, so
--   this is how ransomware removes the copies recovery would use. objects_deleted_in_bulk counts
--   every deletion; this counts only the unrecoverable ones. Lifecycle expirations of noncurrent
--   versions are S3's own actions and are not counted (lifecycle_expiration_added reports the
--   rule that orders them).
-- stratus:
--   - aws.impact.s3-ransomware-batch-deletion
--   - aws.impact.s3-ransomware-individual-deletion
-- benign:
--   - "Clean-up jobs that prune old versions by hand instead of with a lifecycle rule: a steady
--     nightly count from the same principal and network; raise min_versions above it."
--   - "S3 lifecycle expiring noncurrent versions (S3.EXPIRE.OBJECT by AmazonS3): never counted."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   window_minutes: {type: integer, default: 60, description: "Length of the period version deletions are counted in"}
--   min_versions: {type: integer, default: 10, description: "Versions destroyed in one period that make a finding"}
-- ---
WITH deletes AS (
    SELECT event_time, actor, remote_ip AS source_ip, access_key_id, bucket, object_key, 1 AS n
    FROM access_log_identity
    WHERE succeeded AND NOT is_service AND version_id IS NOT NULL
      AND operation IN ('REST.DELETE.OBJECT', 'BATCH.DELETE.OBJECT', 'SOAP.DeleteObject', 'SOAP.DeleteObjectVersion')
    UNION ALL
    SELECT event_time, actor, source_ip, access_key_id, bucket, object_key,
           CASE WHEN event_name = 'DeleteObjects'
                -- CloudTrail names the versions of a batch only when the request body is logged.
                THEN greatest(array_length(regexp_extract_all(coalesce(request_parameters, ''), '"VersionId"\s*:')), 1)
                ELSE 1 END
    FROM trail_events
    WHERE succeeded AND NOT is_service
      AND (event_name IN ('DeleteObject', 'DeleteObjectVersion')
               AND json_extract_string(request_parameters, '$.versionId') IS NOT NULL
           OR event_name = 'DeleteObjects' AND request_parameters LIKE '%"VersionId"%')
      AND NOT coalesce(request_id IN (SELECT request_id FROM s3_access_logs WHERE request_id IS NOT NULL), false)
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
       sum(n) || ' object versions destroyed in ' || $window_minutes || ' min' AS detail
FROM windowed
GROUP BY actor, source_ip, period
HAVING sum(n) >= $min_versions
ORDER BY first_seen, principal, source_ip
