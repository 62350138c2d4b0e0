-- title: Object Lock retention shortened, removed or bypassed
-- kind: detection
-- severity: high
-- mitre: [T1490, T1485]
-- source: cloudtrail
-- description: >
--   Changes that let locked data be destroyed: PutObjectLockConfiguration that removes the default
--   retention, shortens it, or moves it from COMPLIANCE to GOVERNANCE (compared with the bucket's
--   previous configuration in the case); requests that bypass governance-mode retention
--   (x-amz-bypass-governance-retention, for example a DeleteObject or a shortened
--   PutObjectRetention); and legal holds switched off. MFA delete switched off is reported by
--   bucket_versioning_suspended. Failed attempts are reported too.
-- benign:
--   - "Retention policy reviews that lengthen or keep retention: not reported."
--   - "Records managers removing legal holds at the end of a litigation hold: a few
--     PutObjectLegalHold OFF calls by a known principal; the detail names the count."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
-- ---
WITH configs AS (
    SELECT *,
           coalesce(json_extract(request_parameters, '$.ObjectLockConfiguration.Rule.DefaultRetention'),
                    json_extract(request_parameters, '$.objectLockConfiguration.rule.defaultRetention')) AS retention
    FROM trail_events
    WHERE event_source = 's3.amazonaws.com' AND event_name = 'PutObjectLockConfiguration'
),
sized AS (
    SELECT *,
           upper(json_extract_string(retention, '$.Mode')) AS mode,
           coalesce(try_cast(json_extract_string(retention, '$.Days') AS INTEGER),
                    365 * try_cast(json_extract_string(retention, '$.Years') AS INTEGER)) AS days
    FROM configs
),
compared AS (
    -- Each change against the bucket's configuration in force before it (the last that succeeded).
    SELECT c.*,
           (SELECT arg_max(p.mode, p.event_time) FROM sized p
            WHERE p.bucket = c.bucket AND p.succeeded AND p.event_time < c.event_time) AS prev_mode,
           (SELECT arg_max(p.days, p.event_time) FROM sized p
            WHERE p.bucket = c.bucket AND p.succeeded AND p.event_time < c.event_time) AS prev_days
    FROM sized c
),
config_changes AS (
    SELECT event_time, actor, source_ip, access_key_id, bucket, NULL::VARCHAR AS object_key, succeeded, error_code,
           CASE
               WHEN retention IS NULL THEN 'default retention removed'
               WHEN prev_mode = 'COMPLIANCE' AND mode = 'GOVERNANCE' THEN 'default retention moved from COMPLIANCE to GOVERNANCE'
               WHEN days < prev_days THEN 'default retention shortened from ' || prev_days || ' to ' || days || ' days'
           END AS what
    FROM compared
    WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
per_object AS (
    SELECT event_time, actor, source_ip, access_key_id, bucket, object_key, succeeded, error_code,
           CASE
               WHEN lower(coalesce(json_extract_string(request_parameters, '$."x-amz-bypass-governance-retention"'), ''))
                    = 'true' THEN 'governance retention bypassed (' || event_name || ')'
               WHEN event_name = 'PutObjectLegalHold'
                    AND upper(coalesce(json_extract_string(request_parameters, '$.LegalHold.Status'), '')) = 'OFF'
                   THEN 'legal hold removed'
           END AS what
    FROM trail_events
    WHERE event_source = 's3.amazonaws.com'
      AND (request_parameters ILIKE '%bypass-governance-retention%' OR event_name = 'PutObjectLegalHold')
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
found AS (
    SELECT * FROM config_changes WHERE what IS NOT NULL
    UNION ALL
    SELECT * FROM per_object WHERE what IS NOT NULL
)
SELECT min(event_time) AS first_seen, max(event_time) AS last_seen, actor AS principal, source_ip,
       list_sort(list_distinct(list(access_key_id))) AS access_key_id, bucket,
       CASE WHEN count(DISTINCT object_key) <= 3
            THEN list_sort(list_distinct(list(object_key))) END AS object_key,
       count(*) AS events,
       what || CASE WHEN count(*) > 1 THEN ' on ' || count(*) || ' requests' ELSE '' END ||
       CASE WHEN bool_and(succeeded) THEN ''
            ELSE ' (' || count(*) FILTER (WHERE NOT succeeded) || ' failed: ' ||
                 string_agg(DISTINCT error_code, ', ' ORDER BY error_code) || ')' END AS detail
FROM found
GROUP BY actor, source_ip, bucket, what
ORDER BY first_seen, principal, bucket, detail
