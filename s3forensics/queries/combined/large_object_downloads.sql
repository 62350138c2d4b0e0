-- title: Large object downloads
-- kind: hunt
-- source: both
-- mitre: [T1530, T1537]
-- description: >
--   Object reads that sent at least a given number of bytes (100 MiB by default), one row per
--   request: access log reads by bytes_sent, and CloudTrail GetObject events by
--   bytesTransferredOut when the access logs do not hold the same request id. Access log rows
--   carry the access key CloudTrail recorded for the request.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   min_bytes: {type: integer, default: 104857600, description: "Smallest download to report, in bytes"}
-- ---
SELECT event_time, 's3-access' AS source, principal, actor, remote_ip AS source_ip, access_key_id,
       bucket, object_key, operation, bytes_sent AS bytes, object_size,
       CASE WHEN succeeded THEN 'success' ELSE coalesce(error_code, 'HTTP ' || http_status) END AS outcome,
       user_agent, request_id, evidence_id, line_no AS position
FROM access_log_identity
WHERE is_object_read AND bytes_sent >= $min_bytes
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
UNION ALL
SELECT event_time, 'cloudtrail', principal, actor, source_ip, access_key_id,
       bucket, object_key, event_name, bytes_out, NULL::BIGINT,
       CASE WHEN succeeded THEN 'success' ELSE error_code END,
       user_agent, request_id, evidence_id, record_no
FROM trail_events c
WHERE event_name = 'GetObject' AND bytes_out >= $min_bytes
  AND NOT EXISTS (SELECT 1 FROM s3_access_logs s WHERE s.request_id = c.request_id)
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
ORDER BY event_time, source <> 's3-access', evidence_id, position
