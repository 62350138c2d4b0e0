-- title: Top source IP addresses
-- kind: summary
-- source: both
-- description: >
--   Which addresses made the most requests across both sources, moving how many bytes, as how
--   many principals, against how many buckets, and how many failed. A request present in both
--   sources is counted once (the access log copy); the per-source columns show raw counts.
--   CloudTrail names AWS services (e.g. s3.amazonaws.com, AWS Internal) in place of an address.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   limit: {type: integer, default: 50, description: "How many addresses to return"}
-- ---
SELECT source_ip,
       count(*) FILTER (WHERE NOT also_in_access_log) AS requests,
       coalesce(sum(bytes_out) FILTER (WHERE NOT also_in_access_log), 0) AS bytes_out,
       count(DISTINCT principal) AS principals,
       count(DISTINCT bucket) AS buckets,
       count(*) FILTER (WHERE NOT succeeded AND NOT also_in_access_log) AS failures,
       count(*) FILTER (WHERE source = 'access_log') AS access_log_requests,
       count(*) FILTER (WHERE source = 'cloudtrail') AS cloudtrail_events,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM actor_activity
WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY source_ip
ORDER BY requests DESC, bytes_out DESC, source_ip NULLS LAST
LIMIT $limit
