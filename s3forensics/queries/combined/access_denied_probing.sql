-- title: Access denied probing
-- kind: detection
-- severity: medium
-- mitre: [T1619, T1580]
-- source: both
-- description: >
--   Many AccessDenied (403) answers to one actor from one address within a short period, across
--   several different objects or actions: someone testing what a credential can reach. A
--   misconfigured application retrying one denied call does not reach the distinct-targets bar.
-- benign:
--   - "Misconfigured applications retrying a denied call: the same key and operation over and over, from the usual network."
--   - "Security scanners checking what a principal may do (IAM Access Analyzer, CSPM tools)."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   window_minutes: {type: integer, default: 60, description: "Length of the period denials are counted in"}
--   min_denied: {type: integer, default: 10, description: "Denials in one period that make a finding"}
--   min_targets: {type: integer, default: 3, description: "Distinct objects/actions denied in that period"}
-- ---
WITH denied AS (
    SELECT event_time, actor, source_ip, access_key_id, bucket, object_key, operation,
           time_bucket(to_minutes($window_minutes), event_time) AS period
    FROM actor_activity
    WHERE error_code IN ('AccessDenied', 'AllAccessDisabled', 'AccountProblem')
      AND NOT is_service AND NOT also_in_access_log
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT min(event_time) AS first_seen, max(event_time) AS last_seen, actor AS principal,
       source_ip,
       list_sort(list_distinct(list(access_key_id))) AS access_key_id,
       list_sort(list_distinct(list(bucket))) AS bucket,
       list_sort(list_distinct(list(object_key))) AS object_key,
       count(*) AS events,
       count(DISTINCT coalesce(bucket, '') || '/' || coalesce(object_key, '') || ' ' || operation)
           || ' distinct targets denied' AS detail
FROM denied
GROUP BY actor, source_ip, period
HAVING count(*) >= $min_denied
   AND count(DISTINCT coalesce(bucket, '') || '/' || coalesce(object_key, '') || ' ' || operation) >= $min_targets
ORDER BY first_seen, principal, source_ip
