-- title: Principal used from a network it had never used
-- kind: detection
-- severity: high
-- mitre: [T1078.004]
-- source: both
-- description: >
--   An IAM user, role or access key acting from a public network (IPv4 /24, IPv6 /48) that it had
--   not used before, after an initial baseline period of its own activity. Leaked long-term keys
--   are typically used from the attacker's infrastructure; the principal's own history is the
--   baseline, so busy and quiet principals are judged alike. Private addresses are ignored (VPC
--   workloads change addresses), and so are presigned-URL requests (their requester is the URL's
--   signer, not the client).
-- stratus:
--   - aws.credential-access.ec2-steal-instance-credentials
-- benign:
--   - "People travelling or working from home: a new network for a person, usually with the same tools and hours."
--   - "Presigned-URL downloads by many consumers: their requester is the signer, so they are left out."
--   - "VPC workloads changing private addresses: private addresses are ignored."
-- params:
--   start: {type: timestamp, default: null, description: "Report findings from this time (UTC); the baseline always uses the whole case"}
--   end: {type: timestamp, default: null, description: "Report findings before this time (UTC)"}
--   baseline_hours: {type: integer, default: 24, description: "Hours after a principal's first appearance during which every network it uses counts as its baseline"}
-- ---
WITH human AS (
    SELECT * FROM actor_activity
    WHERE NOT is_anonymous AND NOT is_service AND NOT is_presigned AND network IS NOT NULL
      AND NOT is_private_ip AND actor <> 'unknown'
),
actor_start AS (
    SELECT actor, min(event_time) AS actor_first FROM actor_activity
    WHERE NOT is_anonymous AND NOT is_service AND NOT is_presigned GROUP BY actor
),
pairs AS (
    SELECT h.actor, h.network, min(h.event_time) AS first_seen, max(h.event_time) AS last_seen,
           count(*) AS events, any_value(a.actor_first) AS actor_first,
           list_sort(list_distinct(list(h.source_ip))) AS ips,
           list_sort(list_distinct(list(h.access_key_id))) AS keys,
           list_sort(list_distinct(list(h.principal))) AS principals,
           list_sort(list_distinct(list(h.bucket))) AS buckets
    FROM human h JOIN actor_start a USING (actor)
    GROUP BY h.actor, h.network
)
SELECT first_seen, last_seen, actor AS principal, ips AS source_ip, keys AS access_key_id,
       buckets AS bucket, NULL::VARCHAR AS object_key, events,
       'network ' || network || ' first used ' ||
       round_places(epoch(first_seen - actor_first) / 3600.0, 1) || ' h after the principal first appeared'
       AS detail
FROM pairs
WHERE first_seen >= actor_first + to_hours($baseline_hours)
  AND ($start IS NULL OR last_seen >= $start) AND ($end IS NULL OR first_seen < $end)
ORDER BY first_seen, principal, source_ip
