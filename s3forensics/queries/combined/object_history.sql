-- title: History of one object
-- kind: hunt
-- source: both
-- mitre: [T1530, T1485]
-- description: >
--   Every request on one object from both sources, in time order, with who made it, from where
--   and the outcome: reads, writes, copies from it, deletes, lifecycle actions, and CloudTrail
--   DeleteObjects calls whose keys the access log names. `role` says how the request involved
--   the object. Returns nothing until both bucket and key are given.
-- params:
--   bucket: {type: string, default: null, description: "Bucket name"}
--   object_key: {type: string, default: null, description: "Object key, decoded (as CloudTrail shows it)"}
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH batch AS (
    -- The DeleteObjects records naming the key (two records may share an eventID: by record).
    SELECT DISTINCT evidence_id, record_no FROM batch_delete_keys
    WHERE bucket = $bucket AND list_contains(object_keys, $object_key)
),
ct AS (
    SELECT t.*, b.record_no IS NOT NULL AS in_batch,
           -- x-amz-copy-source is "bucket/key" (optionally with a leading / and ?versionId=), URL-encoded.
           url_decode(regexp_replace(split_part(json_extract_string(t.request_parameters, '$."x-amz-copy-source"'), '?', 1),
                                     '^/', '')) AS copy_source
    FROM trail_events t
    LEFT JOIN batch b ON b.evidence_id = t.evidence_id AND b.record_no = t.record_no
    WHERE ($start IS NULL OR t.event_time >= $start) AND ($end IS NULL OR t.event_time < $end)
)
SELECT event_time, 's3-access' AS source,
       CASE WHEN operation LIKE 'REST.COPY.%_GET' THEN 'copy source'
            WHEN operation LIKE 'S3.%' THEN 'S3 action' ELSE 'target' END AS role,
       operation, principal, remote_ip AS source_ip, access_key_id,
       CASE WHEN succeeded THEN 'success' ELSE coalesce(error_code, 'HTTP ' || http_status) END AS outcome,
       http_status, bytes_sent AS bytes, version_id, user_agent, request_id, evidence_id, line_no AS position
FROM access_log_identity
WHERE bucket = $bucket AND object_key = $object_key
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
UNION ALL
SELECT event_time, 'cloudtrail',
       CASE WHEN bucket = $bucket AND object_key = $object_key THEN 'target'
            WHEN in_batch THEN 'named in a batch delete'
            ELSE 'copy source' END,
       event_name, principal, source_ip, access_key_id,
       CASE WHEN succeeded THEN 'success' ELSE error_code END,
       NULL::INTEGER, bytes_out, json_extract_string(request_parameters, '$.versionId'), user_agent,
       request_id, evidence_id, record_no
FROM ct
WHERE (bucket = $bucket AND object_key = $object_key)
   OR in_batch
   OR copy_source = $bucket || '/' || $object_key
ORDER BY event_time, source <> 's3-access', evidence_id, position
