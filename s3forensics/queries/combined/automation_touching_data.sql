-- title: Automation touching data (non-browser user agents)
-- kind: hunt
-- source: both
-- mitre: [T1530, T1119]
-- description: >
--   Object operations made by tools rather than browsers, grouped by user-agent family (the
--   product token before the first '/', lowercased, brackets stripped: aws-cli, boto3, curl,
--   python-requests, rclone...) and actor. An SDK an actor never used before, or curl reading a
--   data bucket, is worth a look. Requests without a user agent appear as '(none)'. A request
--   present in both sources is counted once; S3's own actions are left out, and AWS services
--   unless asked for.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   browser_families: {type: "string[]", default: [mozilla, opera], description: "Lowercase user-agent families treated as browsers and left out"}
--   include_services: {type: boolean, default: false, description: "Also list AWS services acting on their own"}
-- ---
WITH ops AS (
    SELECT *,
           coalesce(nullif(lower(trim(regexp_extract(trim(coalesce(user_agent, ''), '[] '), '^[^/]*', 0))), ''),
                    '(none)') AS user_agent_family
    FROM actor_activity
    WHERE object_key IS NOT NULL AND operation NOT LIKE 'S3.%' AND NOT coalesce(also_in_access_log, false)
      AND ($include_services OR NOT coalesce(is_service, false))
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT user_agent_family, actor,
       count(*) AS requests,
       count(DISTINCT bucket || '/' || object_key) AS objects,
       list_sort(list(DISTINCT bucket)) AS buckets,
       list_sort(list(DISTINCT operation)) AS operations,
       coalesce(sum(bytes_out), 0)::BIGINT AS bytes_out,
       count(DISTINCT source_ip) AS source_ips,
       min(user_agent) AS sample_user_agent,
       list_sort(list(DISTINCT source)) AS sources,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM ops
WHERE NOT list_contains($browser_families, user_agent_family)
GROUP BY user_agent_family, actor
ORDER BY requests DESC, user_agent_family, actor
