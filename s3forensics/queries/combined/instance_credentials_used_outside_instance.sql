-- title: EC2 instance role credentials used from outside the instance's network
-- kind: detection
-- severity: high
-- mitre: [T1552.005, T1078.004]
-- source: both
-- description: >
--   Requests signed with an EC2 instance's role credentials (the session is named after the
--   instance, i-...) from a public address outside AWS's published ranges, on a network other
--   than the instance's own: credentials taken from the instance metadata service (SSRF, a
--   compromised workload) and used from the attacker's machine. The instance's own network is
--   the first private or AWS network its session used, else its first network. Addresses are
--   judged against the AWS ranges when the case was enriched (`s3forensics enrich` with an
--   ip-ranges snapshot); without that only the change of network counts, and an instance's new
--   public address after a restart looks like one.
-- stratus:
--   - aws.credential-access.ec2-steal-instance-credentials
-- benign:
--   - "Instances calling through a NAT gateway, an internet gateway or a VPC endpoint: AWS or
--     private addresses, never reported."
--   - "Instances whose traffic leaves through a corporate proxy: every call comes from the
--     proxy, which is then the instance's own network."
--   - "A stopped and started instance with a new public address, on a case not enriched with
--     AWS ranges: run `s3forensics enrich` and the address is recognised as AWS's."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
-- ---
WITH sessions AS (
    SELECT a.*, c.ip_class,
           regexp_extract(a.principal, ':assumed-role/[^/]+/(i-[0-9a-f]{8,17})$', 1) AS instance_id
    FROM actor_activity a
    LEFT JOIN address_classes c ON c.ip = a.source_ip
    WHERE regexp_matches(a.principal, ':assumed-role/[^/]+/i-[0-9a-f]{8,17}$')
      AND NOT a.is_service AND NOT a.also_in_access_log AND a.network IS NOT NULL
),
home AS (
    SELECT principal,
           coalesce(arg_min(network, event_time) FILTER (WHERE is_private_ip OR ip_class = 'aws'),
                    arg_min(network, event_time)) AS home_network
    FROM sessions GROUP BY principal
),
outside AS (
    SELECT s.*, h.home_network FROM sessions s JOIN home h USING (principal)
    WHERE NOT s.is_private_ip AND coalesce(s.ip_class, '') NOT IN ('aws', 'private', 'loopback', 'link_local')
      AND s.network <> h.home_network
      AND ($start IS NULL OR s.event_time >= $start) AND ($end IS NULL OR s.event_time < $end)
)
SELECT min(event_time) AS first_seen, max(event_time) AS last_seen, principal, source_ip,
       list_sort(list_distinct(list(access_key_id))) AS access_key_id,
       list_sort(list_distinct(list(bucket))) AS bucket,
       NULL::VARCHAR AS object_key, count(*) AS events,
       'credentials of instance ' || any_value(instance_id) || ' used from ' || source_ip ||
       CASE WHEN any_value(ip_class) IS NOT NULL THEN ' (outside AWS''s published ranges)' ELSE '' END ||
       '; the instance''s own network is ' || any_value(home_network) || '; ' ||
       string_agg(DISTINCT operation, ', ' ORDER BY operation) AS detail
FROM outside
GROUP BY principal, source_ip
ORDER BY first_seen, principal, source_ip
