-- title: Operation mix per source
-- kind: summary
-- source: both
-- description: >
--   How often each access log operation and each CloudTrail event name occurs, with successes,
--   failures, principals and buckets: what kinds of activity the case holds, and the rare ones
--   worth a look.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
SELECT 's3-access' AS source, 's3.amazonaws.com' AS service, operation,
       count(*) AS requests,
       count(*) FILTER (WHERE succeeded) AS succeeded,
       count(*) FILTER (WHERE NOT succeeded) AS failed,
       count(DISTINCT principal) AS principals,
       count(DISTINCT bucket) AS buckets,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM access_requests
WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY operation
UNION ALL
SELECT 'cloudtrail', event_source, event_name,
       count(*),
       count(*) FILTER (WHERE succeeded),
       count(*) FILTER (WHERE NOT succeeded),
       count(DISTINCT principal),
       count(DISTINCT bucket),
       min(event_time),
       max(event_time)
FROM trail_events
WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY event_source, event_name
ORDER BY source <> 's3-access', requests DESC, service, operation
