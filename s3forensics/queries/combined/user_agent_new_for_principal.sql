-- title: Principal used a client it had never used
-- kind: detection
-- severity: medium
-- mitre: [T1078.004]
-- source: both
-- description: >
--   A principal whose requests suddenly come from a kind of client (user-agent product, e.g.
--   boto3, aws-cli, curl, rclone) it had not used during its own baseline period. A stolen key
--   used with the attacker's tooling shows up as a new client for that principal.
-- benign:
--   - "A tool upgrade (a new aws-cli or SDK version) changes the user agent: the family is compared, not the version."
--   - "A person trying the console after using the CLI: one more family, usually from the usual network."
-- params:
--   start: {type: timestamp, default: null, description: "Report findings from this time (UTC); the baseline always uses the whole case"}
--   end: {type: timestamp, default: null, description: "Report findings before this time (UTC)"}
--   baseline_hours: {type: integer, default: 24, description: "Hours after a principal's first appearance during which every client it uses counts as its baseline"}
-- ---
WITH human AS (
    SELECT * FROM actor_activity
    WHERE NOT is_anonymous AND NOT is_service AND ua_family IS NOT NULL AND actor <> 'unknown'
),
actor_start AS (
    SELECT actor, min(event_time) AS actor_first FROM human GROUP BY actor
),
pairs AS (
    SELECT h.actor, h.ua_family, min(h.event_time) AS first_seen, max(h.event_time) AS last_seen,
           count(*) AS events, any_value(a.actor_first) AS actor_first,
           first(h.user_agent ORDER BY h.event_time, h.source <> 's3-access', h.user_agent) AS first_user_agent,
           list_sort(list_distinct(list(h.source_ip))) AS ips,
           list_sort(list_distinct(list(h.access_key_id))) AS keys,
           list_sort(list_distinct(list(h.bucket))) AS buckets
    FROM human h JOIN actor_start a USING (actor)
    GROUP BY h.actor, h.ua_family
)
SELECT first_seen, last_seen, actor AS principal, ips AS source_ip, keys AS access_key_id,
       buckets AS bucket, NULL::VARCHAR AS object_key, events,
       'new client ' || ua_family || ': ' || first_user_agent AS detail
FROM pairs
WHERE first_seen >= actor_first + to_hours($baseline_hours)
  AND ($start IS NULL OR last_seen >= $start) AND ($end IS NULL OR first_seen < $end)
ORDER BY first_seen, principal, detail
