-- title: Objects rewritten with customer-provided encryption keys (SSE-C)
-- kind: detection
-- severity: critical
-- mitre: [T1486]
-- source: cloudtrail
-- description: >
--   CopyObject, PutObject or multipart uploads that set SSE-C headers: the ransomware pattern of
--   copying objects over themselves encrypted with a key only the attacker holds. Copies in place
--   (source = destination) are counted separately in the detail.
-- stratus:
--   - aws.impact.s3-ransomware-client-side-encryption
-- benign:
--   - "Applications that use SSE-C by design write every object with it from the start: compare with the principal's history before the window."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   min_objects: {type: integer, default: 1, description: "SSE-C writes by one actor and address that make a finding"}
-- ---
WITH writes AS (
    SELECT *,
           regexp_replace(coalesce(json_extract_string(request_parameters, '$."x-amz-copy-source"'), ''), '^/', '')
               = bucket || '/' || coalesce(object_key, '') AS in_place
    FROM trail_events
    WHERE event_name IN ('CopyObject', 'PutObject', 'UploadPartCopy', 'CreateMultipartUpload', 'UploadPart')
      AND request_parameters ILIKE '%x-amz-server-side-encryption-customer-algorithm%'
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT min(event_time) AS first_seen, max(event_time) AS last_seen, actor AS principal, source_ip,
       list_sort(list_distinct(list(access_key_id))) AS access_key_id,
       list_sort(list_distinct(list(bucket))) AS bucket,
       list_sort(list_distinct(list(object_key))) AS object_key,
       count(*) AS events,
       count(*) FILTER (WHERE succeeded) || ' SSE-C writes succeeded (' ||
           count(*) FILTER (WHERE in_place) || ' copies in place), ' ||
           count(*) FILTER (WHERE NOT succeeded) || ' failed' AS detail
FROM writes
GROUP BY actor, source_ip
HAVING count(*) >= $min_objects
ORDER BY first_seen, principal, source_ip
