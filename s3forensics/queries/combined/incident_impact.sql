-- title: What a set of addresses did to the data
-- kind: summary
-- source: both
-- mitre: [T1530, T1485, T1486]
-- description: >
--   One row of totals for the requests from the given addresses (typically those the findings
--   name): when they started and ended, how many requests failed, how many objects were read (in
--   how many successful reads) and how many bytes were sent to them, and how many objects they
--   rewrote with a customer-provided key (SSE-C), wrote otherwise, or deleted. A request present in both sources is counted once.
--   Deletions count the keys of batch deletes the access log names and, for a DeleteObjects call
--   only CloudTrail holds, the number of keys it asked to delete. SSE-C rewrites are seen in
--   CloudTrail only (the access log does not record encryption headers). delete_requests counts
--   the delete calls themselves (a batch delete is one), so deletions whose keys no log names
--   still show.
-- params:
--   source_ips: {type: "string[]", default: [], description: "Addresses exactly as logged (IPv4, IPv6)"}
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH activity AS (
    SELECT * FROM actor_activity
    WHERE list_contains($source_ips, source_ip)
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
-- The copy of a request that counts once: the access log's when both sources hold it.
counted AS (SELECT * FROM activity WHERE NOT also_in_access_log),
reads AS (
    SELECT bucket, object_key, bytes_out FROM counted
    WHERE succeeded AND object_key IS NOT NULL
      AND operation IN ('REST.GET.OBJECT', 'WEBSITE.GET.OBJECT', 'SOAP.GetObject',
                        'SOAP.GetObjectExtended', 'GetObject')
),
ssec AS (
    SELECT DISTINCT bucket, object_key FROM trail_events
    WHERE list_contains($source_ips, source_ip) AND succeeded AND object_key IS NOT NULL
      AND event_name IN ('CopyObject', 'PutObject', 'UploadPartCopy', 'CreateMultipartUpload',
                         'CompleteMultipartUpload')
      AND request_parameters ILIKE '%x-amz-server-side-encryption-customer-algorithm%'
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
writes AS (
    SELECT DISTINCT bucket, object_key FROM activity
    WHERE succeeded AND object_key IS NOT NULL
      AND operation IN ('REST.PUT.OBJECT', 'REST.POST.OBJECT', 'REST.COPY.OBJECT',
                        'REST.POST.UPLOAD', 'PutObject', 'CopyObject', 'CompleteMultipartUpload')
    EXCEPT
    SELECT bucket, object_key FROM ssec
),
deletes AS (
    SELECT DISTINCT bucket, object_key FROM activity
    WHERE succeeded AND object_key IS NOT NULL
      AND operation IN ('REST.DELETE.OBJECT', 'BATCH.DELETE.OBJECT', 'SOAP.DeleteObject',
                        'REST.DELETE.OBJECT_VERSION', 'DeleteObject', 'DeleteObjectVersion')
),
trail_only_batches AS (
    SELECT coalesce(sum(json_array_length(request_parameters, '$.delete.Object')), 0)::BIGINT AS keys
    FROM trail_events c
    WHERE c.event_name = 'DeleteObjects' AND c.succeeded AND list_contains($source_ips, c.source_ip)
      AND NOT EXISTS (SELECT 1 FROM s3_access_logs s WHERE s.request_id = c.request_id)
      AND ($start IS NULL OR c.event_time >= $start) AND ($end IS NULL OR c.event_time < $end)
)
SELECT
    (SELECT min(event_time) FROM activity) AS first_seen,
    (SELECT max(event_time) FROM activity) AS last_seen,
    (SELECT count(*) FROM counted) AS requests,
    (SELECT count(*) FROM counted WHERE NOT succeeded) AS failed,
    (SELECT count(*) FROM reads) AS object_reads,
    (SELECT count(DISTINCT (bucket, object_key)) FROM reads) AS objects_read,
    (SELECT coalesce(sum(bytes_out), 0)::BIGINT FROM reads) AS bytes_read,
    (SELECT count(*) FROM ssec) AS objects_encrypted_sse_c,
    (SELECT count(*) FROM writes) AS objects_written,
    (SELECT count(*) FROM deletes) + (SELECT keys FROM trail_only_batches) AS objects_deleted,
    (SELECT count(*) FROM counted
     WHERE succeeded AND operation IN ('REST.DELETE.OBJECT', 'REST.POST.MULTI_OBJECT_DELETE',
                                       'SOAP.DeleteObject', 'REST.DELETE.OBJECT_VERSION',
                                       'DeleteObject', 'DeleteObjects', 'DeleteObjectVersion'))
        AS delete_requests
