-- title: Burst of account and bucket discovery calls
-- kind: detection
-- severity: medium
-- mitre: [T1580, T1619, T1526]
-- source: both
-- description: >
--   One actor from one address calling several different discovery APIs (who am I, list buckets,
--   read policies, ACLs, public access settings, list objects) within a short period, from an
--   SDK or command line rather than the console. The console fetches bucket settings when an
--   admin opens a bucket, so console and AWS-internal callers are left out.
-- benign:
--   - "Inventory and CSPM tools listing every bucket on a schedule: the same principal at the same time every day."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   window_minutes: {type: integer, default: 60, description: "Length of the period calls are counted in"}
--   min_distinct_calls: {type: integer, default: 4, description: "Distinct discovery APIs in one period that make a finding"}
-- ---
WITH calls AS (
    -- Both sources, each request once (the access log copy when both hold it).
    SELECT event_time, actor, principal, source_ip, access_key_id, bucket, operation AS event_name,
           time_bucket(to_minutes($window_minutes), event_time) AS period
    FROM actor_activity
    WHERE NOT also_in_access_log AND operation IN (
                         'REST.GET.BUCKETPOLICY', 'REST.GET.ACL', 'REST.GET.LOGGING_STATUS',
                         'REST.GET.VERSIONING', 'REST.GET.BUCKET', 'REST.GET.LOCATION',
                         'REST.GET.PUBLIC_ACCESS_BLOCK', 'REST.GET.ENCRYPTION', 'REST.GET.LIFECYCLE',
                         'REST.GET.REPLICATION', 'REST.GET.BUCKETPOLICYSTATUS', 'REST.GET.BUCKETVERSIONS',
                         'REST.GET.OWNERSHIP_CONTROLS','GetCallerIdentity', 'ListBuckets', 'ListAllMyBuckets', 'GetBucketPolicy',
                         'GetBucketAcl', 'GetBucketPolicyStatus', 'GetBucketPublicAccessBlock',
                         'GetAccountPublicAccessBlock', 'GetBucketLocation', 'GetBucketVersioning',
                         'GetBucketLogging', 'GetBucketEncryption', 'GetBucketLifecycle',
                         'GetBucketLifecycleConfiguration', 'GetBucketReplication', 'ListObjects',
                         'ListObjectsV2', 'ListObjectVersions', 'ListAccessPoints', 'GetAccountAuthorizationDetails',
                         'ListUsers', 'ListRoles', 'ListAttachedUserPolicies', 'GetUser', 'ListAccessKeys')
      AND NOT is_service
      AND NOT regexp_matches(lower(coalesce(user_agent, '')), 'console|aws-internal|^aws internal$|signin\.amazonaws')
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT min(event_time) AS first_seen, max(event_time) AS last_seen, actor AS principal, source_ip,
       list_sort(list_distinct(list(access_key_id))) AS access_key_id,
       list_sort(list_distinct(list(bucket))) AS bucket,
       NULL::VARCHAR AS object_key, count(*) AS events,
       count(DISTINCT event_name) || ' discovery APIs: ' ||
           string_agg(DISTINCT event_name, ', ' ORDER BY event_name) AS detail
FROM calls
GROUP BY actor, source_ip, period
HAVING count(DISTINCT event_name) >= $min_distinct_calls
ORDER BY first_seen, principal, source_ip
