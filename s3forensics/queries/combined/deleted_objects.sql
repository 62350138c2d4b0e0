-- title: Deleted objects - who deleted what, and when
-- kind: hunt
-- source: both
-- mitre: [T1485]
-- description: >
--   One row per object deletion: manual deletes (REST DELETE, and each key of a DeleteObjects
--   batch from the access log's BATCH.DELETE.OBJECT lines) told apart from S3 lifecycle
--   expirations, plus CloudTrail DeleteObject(s) calls the access logs do not hold. Access log
--   rows carry the access key CloudTrail recorded for the request (for a batch, the identity of
--   its DeleteObjects event, as in batch_delete_keys). CloudTrail records no keys
--   for DeleteObjects: such a call seen only in CloudTrail has no object_key, and the number of
--   keys it asked to delete when the request says. Failed attempts are listed only when asked.
-- caveats:
--   - missing: s3-access
--     text: >
--       The case holds no S3 server access logs: deletions show only as CloudTrail data events
--       (absent when the trail logs management events only), and a DeleteObjects call there is
--       recorded without the keys it deleted.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   include_failed: {type: boolean, default: false, description: "Also list delete attempts that failed"}
-- ---
SELECT event_time, 's3-access' AS source,
       CASE WHEN operation LIKE 'S3.%' THEN 'lifecycle'
            WHEN operation = 'BATCH.DELETE.OBJECT' THEN 'manual (batch)'
            ELSE 'manual' END AS delete_kind,
       operation, principal, actor, remote_ip AS source_ip, access_key_id, bucket, object_key, version_id,
       CASE WHEN done THEN 'success' ELSE coalesce(error_code, 'HTTP ' || http_status) END AS outcome,
       cloudtrail_event_id IS NOT NULL AS in_cloudtrail,
       NULL::BIGINT AS keys_requested,
       request_id, evidence_id, line_no AS position
FROM (
    -- S3 logs its own lifecycle actions with no HTTP status: done unless an error is named.
    SELECT *, succeeded OR (is_s3_internal AND http_status IS NULL AND error_code IS NULL) AS done
    FROM access_log_identity
)
WHERE (is_object_delete OR operation IN ('S3.EXPIRE.OBJECT', 'S3.CREATE.DELETEMARKER'))
  AND ($include_failed OR done)
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
UNION ALL
SELECT c.event_time, 'cloudtrail',
       CASE WHEN c.event_name = 'DeleteObjects' THEN 'manual (batch)' ELSE 'manual' END,
       c.event_name, c.principal, c.actor, c.source_ip, c.access_key_id, c.bucket,
       c.object_key,
       json_extract_string(c.request_parameters, '$.versionId'),
       CASE WHEN c.succeeded THEN 'success' ELSE c.error_code END,
       true,
       CASE WHEN c.event_name = 'DeleteObjects'
            THEN json_array_length(c.request_parameters, '$.delete.Object')::BIGINT END,
       c.request_id, c.evidence_id, c.record_no
FROM trail_events c
WHERE c.event_name IN ('DeleteObject', 'DeleteObjects', 'DeleteObjectVersion')
  AND NOT EXISTS (SELECT 1 FROM s3_access_logs s WHERE s.request_id = c.request_id)
  AND ($include_failed OR c.succeeded)
  AND ($start IS NULL OR c.event_time >= $start) AND ($end IS NULL OR c.event_time < $end)
ORDER BY event_time, source <> 's3-access', evidence_id, position
