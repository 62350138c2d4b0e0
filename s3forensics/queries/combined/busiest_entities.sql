-- title: Busiest addresses, principals, access keys or buckets
-- kind: summary
-- source: both
-- description: >
--   The entities of one kind (ip: source addresses, principal: actors, access_key, bucket) with
--   the most requests in the window, AWS services and anonymous requests left out, busiest first.
--   What a notebook investigates when no finding names an entity of that kind: volume alone, not
--   a suspect by itself.
-- params:
--   entity: {type: string, default: ip, description: "Kind of entity: ip, principal, access_key or bucket"}
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   limit: {type: integer, default: 20, description: "How many entities to list"}
-- ---
WITH named AS (
    SELECT CASE $entity WHEN 'ip' THEN source_ip
                        WHEN 'principal' THEN actor
                        WHEN 'access_key' THEN access_key_id
                        WHEN 'bucket' THEN bucket
                        ELSE error('entity must be one of ip, principal, access_key, bucket') END AS value
    FROM actor_activity
    WHERE NOT is_service AND NOT coalesce(is_anonymous, false)
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT value, count(*) AS events
FROM named
WHERE value IS NOT NULL
GROUP BY value
ORDER BY events DESC, value
LIMIT $limit
