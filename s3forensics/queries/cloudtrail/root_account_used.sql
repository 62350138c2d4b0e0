-- title: Root user activity
-- kind: detection
-- severity: high
-- mitre: [T1078.004]
-- source: cloudtrail
-- description: >
--   Calls made as the account's root user (not by an AWS service on its behalf). Root should be
--   locked away; any use deserves an explanation.
-- benign:
--   - "Tasks only root can do (closing the account, some billing settings): rare, and worth an explanation anyway."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
-- ---
SELECT min(event_time) AS first_seen, max(event_time) AS last_seen, principal, source_ip,
       list_sort(list_distinct(list(access_key_id))) AS access_key_id,
       list_sort(list_distinct(list(bucket))) AS bucket, NULL::VARCHAR AS object_key,
       count(*) AS events,
       string_agg(DISTINCT event_name, ', ' ORDER BY event_name) AS detail
FROM trail_events
WHERE identity_type = 'Root' AND invoked_by IS NULL
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY principal, source_ip, date_trunc('day', event_time)
ORDER BY first_seen, source_ip
