-- title: Server errors (5xx) by operation and requester
-- kind: hunt
-- source: s3-access
-- description: >
--   Requests that failed with a 5xx status, per operation and principal, with the error codes
--   and the slowest turnaround and total times. Throttling (SlowDown, 503) under one principal
--   means request volume high enough to hit S3's limits, e.g. mass copy or delete.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
SELECT operation, principal,
       count(*) AS errors,
       list_sort(list(DISTINCT http_status)) AS http_statuses,
       coalesce(list_sort(list(DISTINCT error_code) FILTER (WHERE error_code IS NOT NULL)), []) AS error_codes,
       max(turnaround_time_ms) AS max_turnaround_ms,
       round_places(avg(turnaround_time_ms), 1) AS avg_turnaround_ms,
       max(total_time_ms) AS max_total_time_ms,
       count(DISTINCT bucket) AS buckets,
       count(DISTINCT remote_ip) AS source_ips,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM access_requests
WHERE status_class = 5
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY operation, principal
ORDER BY errors DESC, max_turnaround_ms DESC NULLS LAST, operation, principal
