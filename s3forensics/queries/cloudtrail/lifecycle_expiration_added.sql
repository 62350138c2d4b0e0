-- title: Lifecycle rule that expires objects across a bucket added
-- kind: detection
-- severity: high
-- mitre: [T1485, T1070]
-- source: cloudtrail
-- description: >
--   PutBucketLifecycle(Configuration) with an enabled rule that expires current or noncurrent
--   object versions, or removes delete markers, across the whole bucket (no prefix or tag filter):
--   S3 itself will delete the data, and any evidence in it, later and without further calls.
--   Expiring noncurrent versions destroys the copies a versioned bucket keeps for recovery;
--   removing expired delete markers erases the trace of deletions. The detail says which. Routine
--   housekeeping rules scoped to a prefix such as tmp/ are reported only when
--   include_prefixed_rules is true.
-- stratus:
--   - aws.defense-evasion.cloudtrail-lifecycle-rule
-- benign:
--   - "Housekeeping rules on a prefix (tmp/, scratch/): not reported unless include_prefixed_rules."
--   - "Retention rules that expire data after years (compliance-driven): not reported beyond
--     max_days."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   max_days: {type: integer, default: 365, description: "Only report rules expiring objects within this many days"}
--   include_prefixed_rules: {type: boolean, default: false, description: "Also report rules scoped to a prefix or tag"}
-- ---
WITH configs AS (
    SELECT *, coalesce(json_extract(request_parameters, '$.LifecycleConfiguration'),
                       json_extract(request_parameters, '$.lifecycleConfiguration')) AS cfg
    FROM trail_events
    WHERE event_name IN ('PutBucketLifecycle', 'PutBucketLifecycleConfiguration')
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
rules AS (
    SELECT c.*,
           unnest(CASE WHEN json_type(cfg, '$.Rule') = 'ARRAY' THEN json_extract(cfg, '$.Rule[*]')
                       ELSE [json_extract(cfg, '$.Rule')] END) AS rule
    FROM configs c WHERE cfg IS NOT NULL
),
judged AS (
    SELECT *,
           coalesce(json_extract_string(rule, '$.Filter.Prefix'), json_extract_string(rule, '$.Filter.And.Prefix'),
                    json_extract_string(rule, '$.Prefix'), '') AS prefix,
           (json_extract(rule, '$.Filter.Tag') IS NOT NULL OR json_extract(rule, '$.Filter.And.Tag') IS NOT NULL
            OR json_extract(rule, '$.Filter.And.Tags') IS NOT NULL) AS tag_scoped,
           least(try_cast(json_extract_string(rule, '$.Expiration.Days') AS INTEGER),
                 try_cast(json_extract_string(rule, '$.NoncurrentVersionExpiration.NoncurrentDays') AS INTEGER)) AS min_days,
           json_extract_string(rule, '$.ID') AS rule_id,
           concat_ws(', ',
               CASE WHEN json_extract(rule, '$.Expiration.Days') IS NOT NULL
                         OR json_extract(rule, '$.Expiration.Date') IS NOT NULL THEN 'current versions' END,
               CASE WHEN json_extract(rule, '$.NoncurrentVersionExpiration') IS NOT NULL THEN 'noncurrent versions' END,
               CASE WHEN lower(json_extract_string(rule, '$.Expiration.ExpiredObjectDeleteMarker')) = 'true'
                    THEN 'delete markers' END) AS expires
    FROM rules
    WHERE json_extract_string(rule, '$.Status') = 'Enabled'
      AND (json_extract(rule, '$.Expiration') IS NOT NULL
           OR json_extract(rule, '$.NoncurrentVersionExpiration') IS NOT NULL)
)
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, bucket, nullif(prefix, '') AS object_key, 1::BIGINT AS events,
       'expiration rule ' || coalesce('''' || rule_id || '''', '') ||
       CASE WHEN prefix = '' AND NOT tag_scoped THEN ' on every object' ELSE ' on ' || coalesce(nullif(prefix, ''), 'tagged objects') END ||
       coalesce(' after ' || min_days || ' days', '') ||
       coalesce(' (expires ' || nullif(expires, '') || ')', '') ||
       CASE WHEN succeeded THEN '' ELSE ' (failed: ' || error_code || ')' END AS detail
FROM judged
WHERE (min_days IS NULL OR min_days <= $max_days)
  AND ($include_prefixed_rules OR (prefix = '' AND NOT tag_scoped))
ORDER BY first_seen, principal, bucket
