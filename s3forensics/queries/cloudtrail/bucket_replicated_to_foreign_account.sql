-- title: Bucket replication to another account's bucket configured
-- kind: detection
-- severity: high
-- mitre: [T1537, T1020]
-- source: cloudtrail
-- description: >
--   PutBucketReplication with an enabled rule whose destination is outside the estate: the rule's
--   Destination.Account is not one of the case's own accounts, or the destination bucket is known
--   (from CloudTrail resources) to belong to another account, or, with neither told, the
--   destination bucket is not one the case knows at all. From then on S3 itself copies every new
--   object (and, with batch replication, the old ones) to that bucket, without further calls by
--   the attacker. Failed attempts are reported too.
-- benign:
--   - "Disaster-recovery or backup replication to another account of the organization: list that
--     account in trusted_accounts (or load its CloudTrail, which makes it one of the case's own)."
--   - "Replication to a bucket of the same account that appears nowhere in the logs: the
--     destination is then unknown, not foreign; list it in trusted_buckets."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   trusted_accounts: {type: "string[]", default: [], description: "Account ids that are not foreign (backup or DR accounts, partners)"}
--   trusted_buckets: {type: "string[]", default: [], description: "Destination bucket names that are the estate's own"}
-- ---
WITH own AS (
    SELECT list_distinct(list(account_id) || $trusted_accounts) AS accounts FROM own_accounts
),
known_buckets AS (
    SELECT bucket FROM bucket_accounts
    UNION SELECT DISTINCT bucket FROM s3_access_logs
    UNION SELECT DISTINCT bucket FROM cloudtrail_events WHERE bucket IS NOT NULL
),
changes AS (
    SELECT *, coalesce(json_extract(request_parameters, '$.ReplicationConfiguration'),
                       json_extract(request_parameters, '$.replicationConfiguration')) AS cfg
    FROM trail_events
    WHERE event_source = 's3.amazonaws.com' AND event_name = 'PutBucketReplication'
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
rules AS (
    -- The XML body as CloudTrail renders it: one Rule is an object, several are an array.
    SELECT c.*,
           unnest(CASE WHEN json_type(cfg, '$.Rule') = 'ARRAY' THEN json_extract(cfg, '$.Rule[*]')
                       ELSE [json_extract(cfg, '$.Rule')] END) AS rule
    FROM changes c WHERE cfg IS NOT NULL
),
destinations AS (
    SELECT r.*,
           coalesce(nullif(regexp_extract(json_extract_string(rule, '$.Destination.Bucket'),
                                          '^arn:aws[a-z-]*:s3:::([^/]+)', 1), ''),
                    json_extract_string(rule, '$.Destination.Bucket')) AS dest_bucket,
           json_extract_string(rule, '$.Destination.Account') AS dest_account_given
    FROM rules r
    WHERE coalesce(json_extract_string(rule, '$.Status'), 'Enabled') = 'Enabled'
),
judged AS (
    SELECT d.*, coalesce(d.dest_account_given, b.account_id) AS dest_account,
           o.accounts,
           d.dest_bucket IN (SELECT bucket FROM known_buckets) AS dest_known
    FROM destinations d
    CROSS JOIN own o
    LEFT JOIN bucket_accounts b ON b.bucket = d.dest_bucket
)
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, bucket, NULL::VARCHAR AS object_key, 1::BIGINT AS events,
       'replication to ' || dest_bucket ||
       CASE WHEN dest_account IS NOT NULL THEN ' of foreign account ' || dest_account
            ELSE ', a bucket the case knows nothing about' END ||
       CASE WHEN succeeded THEN '' ELSE ' (failed: ' || error_code || ')' END AS detail
FROM judged
WHERE NOT list_contains($trusted_buckets, dest_bucket)
  AND CASE WHEN dest_account IS NOT NULL THEN NOT list_contains(accounts, dest_account)
           ELSE NOT dest_known END
ORDER BY first_seen, principal, bucket, detail
