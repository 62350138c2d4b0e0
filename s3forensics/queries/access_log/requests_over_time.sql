-- title: Requests over time by HTTP status class
-- kind: summary
-- source: s3-access
-- description: >
--   Access log requests per time bucket (an hour by default) and HTTP status class (2xx, 3xx,
--   4xx, 5xx), with bytes sent and distinct principals and addresses: spikes of 4xx are probing,
--   spikes of 2xx with bytes are reads. Buckets are aligned to UTC.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   bucket_minutes: {type: integer, default: 60, description: "Width of each time bucket in minutes"}
-- ---
WITH p AS (
    SELECT CASE WHEN $bucket_minutes > 0 THEN to_minutes($bucket_minutes)
                ELSE error('bucket_minutes must be a positive number of minutes') END AS width
)
SELECT time_bucket(p.width, a.event_time) AS period_start,
       coalesce(a.status_class || 'xx', 'no status') AS status_class,
       count(*) AS requests,
       coalesce(sum(a.bytes_sent), 0)::BIGINT AS bytes_sent,
       count(DISTINCT a.principal) AS principals,
       count(DISTINCT a.remote_ip) AS source_ips
FROM access_requests a, p
WHERE ($start IS NULL OR a.event_time >= $start) AND ($end IS NULL OR a.event_time < $end)
GROUP BY 1, 2
ORDER BY period_start, status_class
