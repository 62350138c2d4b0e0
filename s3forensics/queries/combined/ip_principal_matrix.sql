-- title: Source IP and principal pairs
-- kind: summary
-- source: both
-- description: >
--   Requests per (source IP, principal) pair across both sources: one key used from many
--   addresses, or one address using many identities, stands out here. A request present in both
--   sources is counted once in `requests`; the per-source columns show raw counts.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   limit: {type: integer, default: 1000, description: "How many pairs to return"}
-- ---
-- `counted`: the copy of a request that counts once (the access log's when both sources hold it).
WITH activity AS (
    SELECT *, NOT coalesce(also_in_access_log, false) AS counted FROM actor_activity
)
SELECT source_ip, principal,
       count(*) FILTER (WHERE counted) AS requests,
       coalesce(sum(bytes_out) FILTER (WHERE counted), 0)::BIGINT AS bytes_out,
       count(*) FILTER (WHERE NOT succeeded AND counted) AS failures,
       count(DISTINCT bucket) AS buckets,
       count(*) FILTER (WHERE source = 's3-access') AS access_log_requests,
       count(*) FILTER (WHERE source = 'cloudtrail') AS cloudtrail_events,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM activity
WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY source_ip, principal
ORDER BY requests DESC, source_ip NULLS LAST, principal
LIMIT $limit
