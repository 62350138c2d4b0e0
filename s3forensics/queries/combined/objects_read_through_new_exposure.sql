-- title: Objects read anonymously or by a foreign account, newly
-- kind: detection
-- severity: critical
-- mitre: [T1530, T1537]
-- source: both
-- description: >
--   Successful reads or listings by anonymous callers or by principals of accounts outside the
--   case, on a bucket where that kind of access had not been seen during the bucket's first
--   baseline_hours of logged activity, or only after a policy, ACL or public access block change
--   on it. A public website bucket is read anonymously from day one and stays quiet; a private
--   bucket that starts answering anonymous or foreign readers after such a change does not.
-- benign:
--   - "A partner reading through a grant made for them on purpose: list their account in the exposure detection's trusted_accounts."
-- params:
--   start: {type: timestamp, default: null, description: "Report reads from this time (UTC); the bucket baseline always uses the whole case"}
--   end: {type: timestamp, default: null, description: "Report reads before this time (UTC)"}
--   baseline_hours: {type: integer, default: 24, description: "Hours after a bucket's first logged request during which outside access counts as normal for it"}
--   trusted_accounts: {type: "string[]", default: [], description: "Extra account ids that are not foreign"}
-- ---
WITH known AS (
    SELECT list_distinct(list(account_id) || $trusted_accounts) AS accounts FROM case_accounts
),
outside AS (
    SELECT a.*,
           CASE WHEN a.is_anonymous THEN 'anonymous' ELSE 'account ' || a.principal_account END AS who
    FROM actor_activity a CROSS JOIN known k
    WHERE a.succeeded AND NOT a.is_service AND NOT a.also_in_access_log AND a.bucket IS NOT NULL
      AND a.operation IN ('REST.GET.OBJECT', 'REST.HEAD.OBJECT', 'REST.GET.BUCKET', 'WEBSITE.GET.OBJECT',
                          'WEBSITE.HEAD.OBJECT', 'SOAP.GetObject', 'REST.COPY.OBJECT_GET',
                          'GetObject', 'HeadObject', 'ListObjects', 'ListObjectsV2', 'ListObjectVersions')
      AND (a.is_anonymous
           OR (a.principal_account IS NOT NULL AND NOT list_contains(k.accounts, a.principal_account)))
),
bucket_start AS (
    SELECT bucket, min(event_time) AS bucket_first FROM actor_activity WHERE bucket IS NOT NULL GROUP BY bucket
),
opened AS (
    -- Successful changes that can open a bucket: outside readers after one need no baseline.
    SELECT bucket, min(event_time) AS opened_at FROM trail_events
    WHERE succeeded AND bucket IS NOT NULL
      AND event_name IN ('PutBucketPolicy', 'PutBucketAcl', 'PutObjectAcl', 'PutBucketPublicAccessBlock',
                         'DeleteBucketPublicAccessBlock', 'DeleteBucketPolicy', 'PutAccessPointPolicy')
    GROUP BY bucket
),
new_access AS (
    SELECT o.bucket, o.who, min(o.event_time) AS who_first, any_value(b.bucket_first) AS bucket_first
    FROM outside o JOIN bucket_start b USING (bucket) LEFT JOIN opened p USING (bucket)
    GROUP BY o.bucket, o.who
    HAVING min(o.event_time) >= any_value(b.bucket_first) + to_hours($baseline_hours)
        OR min(o.event_time) > any_value(p.opened_at)
)
SELECT min(o.event_time) AS first_seen, max(o.event_time) AS last_seen,
       o.principal, o.source_ip,
       list_sort(list_distinct(list(o.access_key_id))) AS access_key_id,
       o.bucket,
       list_sort(list_distinct(list(o.object_key))) AS object_key,
       count(*) AS events,
       o.who || ' read access, first seen ' ||
           round_places(epoch(any_value(n.who_first) - any_value(n.bucket_first)) / 3600.0, 1) ||
           ' h after the bucket''s first logged request; ' ||
           sum(coalesce(o.bytes_out, 0)) || ' bytes' AS detail
FROM outside o JOIN new_access n USING (bucket, who)
WHERE ($start IS NULL OR o.event_time >= $start) AND ($end IS NULL OR o.event_time < $end)
GROUP BY o.bucket, o.who, o.principal, o.source_ip
ORDER BY first_seen, bucket, principal, source_ip
