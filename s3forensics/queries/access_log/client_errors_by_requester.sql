-- title: Client errors (4xx) by requester, address and error code
-- kind: hunt
-- source: s3-access
-- mitre: [T1619, T1580]
-- description: >
--   Requests that failed with a 4xx status, per principal, address, status and error code, with
--   the operations, buckets and sample keys involved. Many AccessDenied or NoSuchKey answers for
--   one requester is enumeration or a stolen key testing its reach; InvalidAccessKeyId and
--   SignatureDoesNotMatch appear only here, as CloudTrail does not log them.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   min_requests: {type: integer, default: 1, description: "Leave out groups with fewer failed requests than this"}
-- ---
SELECT principal, remote_ip AS source_ip, http_status, error_code,
       count(*) AS requests,
       list_sort(list(DISTINCT operation)) AS operations,
       count(DISTINCT bucket) AS buckets,
       count(DISTINCT object_key) AS objects,
       list_slice(coalesce(list_sort(list(DISTINCT object_key) FILTER (WHERE object_key IS NOT NULL)), []),
                  1, 5) AS sample_keys,
       min(user_agent) AS sample_user_agent,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM access_requests
WHERE status_class = 4
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY principal, remote_ip, http_status, error_code
HAVING count(*) >= $min_requests
ORDER BY requests DESC, principal, source_ip NULLS LAST, http_status, error_code NULLS LAST
