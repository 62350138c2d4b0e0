-- title: Error rates per operation
-- kind: summary
-- source: both
-- description: >
--   Per source and operation (access log operation or CloudTrail event name): requests, failed
--   requests, the error rate and the error codes seen. A high AccessDenied rate on one operation
--   is a principal probing what it may do.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   min_requests: {type: integer, default: 1, description: "Leave out operations with fewer requests than this"}
-- ---
WITH ops AS (
    SELECT 's3-access' AS source, operation, succeeded, error_code, principal
    FROM access_requests
    WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
    UNION ALL
    SELECT 'cloudtrail', event_name, succeeded, error_code, principal
    FROM trail_events
    WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT source, operation,
       count(*) AS requests,
       count(*) FILTER (WHERE NOT succeeded) AS errors,
       round_places(count(*) FILTER (WHERE NOT succeeded) / count(*), 4) AS error_rate,
       coalesce(list_sort(list(DISTINCT error_code) FILTER (WHERE error_code IS NOT NULL)), []) AS error_codes,
       count(DISTINCT principal) FILTER (WHERE NOT succeeded) AS principals_with_errors
FROM ops
GROUP BY source, operation
HAVING count(*) >= $min_requests
ORDER BY error_rate DESC, errors DESC, source <> 's3-access', operation
