-- title: Top requesters
-- kind: summary
-- source: s3-access
-- description: >
--   Who made the most requests, from how many addresses, moving how many bytes: the first
--   question of any S3 investigation.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   limit: {type: integer, default: 20, description: "How many requesters to return"}
-- ---
SELECT principal,
       count(*) AS requests,
       count(DISTINCT remote_ip) AS source_ips,
       count(DISTINCT bucket) AS buckets,
       sum(coalesce(bytes_sent, 0))::BIGINT AS bytes_sent,
       count(*) FILTER (WHERE NOT succeeded) AS failed,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM access_requests
WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY principal
ORDER BY requests DESC, principal
LIMIT $limit
