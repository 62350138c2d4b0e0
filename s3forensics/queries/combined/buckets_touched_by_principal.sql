-- title: Buckets one principal touched
-- kind: hunt
-- source: both
-- mitre: [T1619, T1530]
-- description: >
--   Per bucket, what one principal did there: requests in each source, operations, objects,
--   reads, writes, deletes, bytes and failures. The value is matched as in principal_activity
--   (ARN, role behind a session, access key, user name, principal id). The reach of a
--   compromised identity. Returns nothing until a principal is given.
-- params:
--   principal: {type: string, default: null, description: "ARN, role ARN, user name, principal id or access key id to follow"}
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH touched AS (
    SELECT 's3-access' AS source, event_time, bucket, object_key, operation, succeeded,
           bytes_sent AS bytes_out, remote_ip AS source_ip,
           is_object_read AS is_read,
           operation IN ('REST.PUT.OBJECT', 'REST.POST.OBJECT', 'REST.COPY.OBJECT', 'REST.PUT.PART',
                         'REST.COPY.PART', 'REST.POST.UPLOAD', 'SOAP.PutObject') AS is_write,
           is_object_delete AS is_delete,
           request_id
    FROM access_log_identity
    WHERE $principal IS NOT NULL AND bucket IS NOT NULL
      AND (principal = $principal OR actor = $principal OR access_key_id = $principal
           OR cloudtrail_principal = $principal OR session_issuer_arn = $principal
           OR (requester LIKE 'arn:%:user/%' AND ends_with(requester, '/' || $principal)))
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
    UNION ALL
    SELECT 'cloudtrail', event_time, bucket, object_key, event_name, succeeded,
           bytes_out, source_ip,
           event_name = 'GetObject',
           event_name IN ('PutObject', 'CopyObject', 'UploadPart', 'UploadPartCopy',
                          'CompleteMultipartUpload'),
           event_name IN ('DeleteObject', 'DeleteObjects', 'DeleteObjectVersion'),
           request_id
    FROM trail_events
    WHERE $principal IS NOT NULL AND bucket IS NOT NULL
      AND (principal = $principal OR actor = $principal OR principal_arn = $principal
           OR session_issuer_arn = $principal OR user_name = $principal
           OR access_key_id = $principal OR principal_id = $principal)
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
-- A request in both sources counts once (the access log copy).
deduped AS (
    SELECT * FROM touched t
    WHERE t.source = 's3-access' OR t.request_id IS NULL
       OR t.request_id NOT IN (SELECT request_id FROM touched WHERE source = 's3-access' AND request_id IS NOT NULL)
)
SELECT bucket,
       count(*) AS requests,
       list_sort(list(DISTINCT operation)) AS operations,
       count(DISTINCT object_key) AS objects,
       count(*) FILTER (WHERE is_read) AS reads,
       count(*) FILTER (WHERE is_write) AS writes,
       count(*) FILTER (WHERE is_delete) AS deletes,
       count(*) FILTER (WHERE NOT succeeded) AS failed,
       coalesce(sum(bytes_out), 0)::BIGINT AS bytes_out,
       coalesce(list_sort(list(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL)), []) AS source_ips,
       count(*) FILTER (WHERE source = 's3-access') AS access_log_requests,
       count(*) FILTER (WHERE source = 'cloudtrail') AS cloudtrail_events,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM deduped
GROUP BY bucket
ORDER BY first_seen, bucket
