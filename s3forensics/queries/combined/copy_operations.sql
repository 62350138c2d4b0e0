-- title: Object copies by actor (data staging)
-- kind: hunt
-- source: both
-- mitre: [T1074.002, T1537, T1486]
-- description: >
--   Server-side copies (CopyObject, UploadPartCopy; REST.COPY.OBJECT and REST.COPY.PART in the
--   access logs) with their copy source, ordered by actor: staging data in another bucket or
--   account before taking it, or re-encrypting objects in place with a customer key (SSE-C,
--   ransomware). The access log names the source in the REST.COPY.*_GET line of the same request,
--   CloudTrail in x-amz-copy-source; a copy whose destination is not in the loaded logs appears
--   with only its source. A request present in both sources is listed once.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH sal AS (
    SELECT * FROM access_log_identity
    WHERE operation LIKE 'REST.COPY.%'
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
put_side AS (SELECT * FROM sal WHERE operation NOT LIKE '%\_GET' ESCAPE '\'),
get_side AS (
    SELECT request_id, arg_min(bucket || '/' || object_key, line_no) AS copy_source
    FROM sal
    WHERE operation LIKE '%\_GET' ESCAPE '\' AND request_id IS NOT NULL
    GROUP BY request_id
),
ct AS (
    SELECT *,
           -- x-amz-copy-source is "bucket/key" (optionally with a leading / and ?versionId=), URL-encoded.
           url_decode(regexp_replace(split_part(json_extract_string(request_parameters, '$."x-amz-copy-source"'), '?', 1),
                                     '^/', '')) AS copy_source,
           json_extract_string(request_parameters, '$."x-amz-server-side-encryption-customer-algorithm"') AS sse_customer_algorithm
    FROM trail_events
    WHERE event_name IN ('CopyObject', 'UploadPartCopy')
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
ct_by_request AS (
    SELECT request_id, min(copy_source) AS copy_source, min(sse_customer_algorithm) AS sse_customer_algorithm
    FROM ct WHERE request_id IS NOT NULL GROUP BY request_id
)
SELECT p.event_time, 's3-access' AS source, p.actor, p.principal, p.remote_ip AS source_ip, p.access_key_id,
       p.operation, coalesce(g.copy_source, c.copy_source) AS copy_source,
       p.bucket, p.object_key,
       split_part(coalesce(g.copy_source, c.copy_source), '/', 1) <> p.bucket AS cross_bucket,
       c.sse_customer_algorithm, p.object_size AS bytes,
       CASE WHEN p.succeeded THEN 'success' ELSE coalesce(p.error_code, 'HTTP ' || p.http_status) END AS outcome,
       p.user_agent, p.request_id, p.evidence_id, p.line_no AS position
FROM put_side p
LEFT JOIN get_side g USING (request_id)
LEFT JOIN ct_by_request c USING (request_id)
UNION ALL
-- Source side only: the destination bucket's access logs are not in the case.
SELECT s.event_time, 's3-access', s.actor, s.principal, s.remote_ip, s.access_key_id,
       s.operation, s.bucket || '/' || s.object_key, NULL, NULL, NULL,
       c.sse_customer_algorithm, s.bytes_sent,
       CASE WHEN s.succeeded THEN 'success' ELSE coalesce(s.error_code, 'HTTP ' || s.http_status) END,
       s.user_agent, s.request_id, s.evidence_id, s.line_no
FROM sal s
LEFT JOIN ct_by_request c USING (request_id)
WHERE s.operation LIKE '%\_GET' ESCAPE '\'
  AND (s.request_id IS NULL OR s.request_id NOT IN (SELECT request_id FROM put_side WHERE request_id IS NOT NULL))
UNION ALL
SELECT c.event_time, 'cloudtrail', c.actor, c.principal, c.source_ip, c.access_key_id,
       c.event_name, c.copy_source, c.bucket, c.object_key,
       split_part(c.copy_source, '/', 1) <> c.bucket,
       c.sse_customer_algorithm, NULL::BIGINT,
       CASE WHEN c.succeeded THEN 'success' ELSE c.error_code END,
       c.user_agent, c.request_id, c.evidence_id, c.record_no
FROM ct c
WHERE NOT EXISTS (SELECT 1 FROM s3_access_logs s WHERE s.request_id = c.request_id)
ORDER BY actor, event_time, source <> 's3-access', evidence_id, position
