-- title: Traffic by bucket
-- kind: summary
-- source: both
-- description: >
--   Requests, bytes sent and errors per bucket across both sources, with how many principals,
--   addresses and objects were involved. A request present in both sources is counted once;
--   the per-source columns show raw counts. CloudTrail events that name no bucket (e.g.
--   ListBuckets, IAM calls) are left out.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
-- `counted`: the copy of a request that counts once (the access log's when both sources hold it).
WITH activity AS (
    SELECT *, NOT coalesce(also_in_access_log, false) AS counted FROM actor_activity
)
SELECT bucket,
       count(*) FILTER (WHERE counted) AS requests,
       coalesce(sum(bytes_out) FILTER (WHERE counted), 0)::BIGINT AS bytes_out,
       count(*) FILTER (WHERE NOT succeeded AND counted) AS errors,
       round_places(count(*) FILTER (WHERE NOT succeeded AND counted)
                    / greatest(count(*) FILTER (WHERE counted), 1), 4) AS error_rate,
       count(DISTINCT principal) AS principals,
       count(DISTINCT source_ip) AS source_ips,
       count(DISTINCT object_key) AS objects,
       count(*) FILTER (WHERE source = 's3-access') AS access_log_requests,
       count(*) FILTER (WHERE source = 'cloudtrail') AS cloudtrail_events,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM activity
WHERE bucket IS NOT NULL
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY bucket
ORDER BY requests DESC, bucket
