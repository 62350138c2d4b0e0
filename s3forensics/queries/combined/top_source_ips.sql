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
-- `counted`: the copy of a request that counts once (the access log's when both sources hold it).
WITH activity AS (
    SELECT *, NOT coalesce(also_in_access_log, false) AS counted FROM actor_activity
)
SELECT source_ip,
       count(*) FILTER (WHERE counted) AS requests,
       coalesce(sum(bytes_out) FILTER (WHERE counted), 0)::BIGINT AS bytes_out,
       count(DISTINCT principal) AS principals,
       count(DISTINCT bucket) AS buckets,
       count(*) FILTER (WHERE NOT succeeded AND counted) AS failures,
       count(*) FILTER (WHERE source = 's3-access') AS access_log_requests,
       count(*) FILTER (WHERE source = 'cloudtrail') AS cloudtrail_events,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM activity
WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY source_ip
ORDER BY requests DESC, bytes_out DESC, source_ip NULLS LAST
LIMIT $limit
