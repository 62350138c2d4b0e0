-- title: Activity over time, the given addresses apart from everyone else
-- kind: summary
-- source: both
-- description: >
--   Requests per period across both sources, split into those from the given addresses
--   (typically those the findings name) and all other activity: the shape of an incident against
--   the case's normal volume. A request present in both sources is counted once.
-- params:
--   source_ips: {type: "string[]", default: [], description: "Addresses exactly as logged (IPv4, IPv6)"}
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   bucket_minutes: {type: integer, default: 60, description: "Width of each period in minutes"}
-- ---
WITH p AS (
    SELECT CASE WHEN $bucket_minutes > 0 THEN to_minutes($bucket_minutes)
                ELSE error('bucket_minutes must be a positive number of minutes') END AS width
)
SELECT time_bucket(p.width, a.event_time) AS period_start,
       coalesce(list_contains($source_ips, a.source_ip), false) AS named,
       count(*) AS requests
FROM actor_activity a, p
WHERE NOT a.also_in_access_log
  AND ($start IS NULL OR a.event_time >= $start) AND ($end IS NULL OR a.event_time < $end)
GROUP BY 1, 2
ORDER BY period_start, named
