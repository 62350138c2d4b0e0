-- title: Objects copied out to another account's bucket
-- kind: detection
-- severity: high
-- mitre: [T1537, T1020]
-- source: both
-- description: >
--   Server-side copies (CopyObject, UploadPartCopy) whose source is one of the estate's buckets and
--   whose destination belongs to another account: known from CloudTrail (the destination bucket's
--   account on its resource), or, where only the source bucket's access log saw the copy
--   (REST.COPY.OBJECT_GET with no destination line in the case), from the copier being a
--   principal of another account. Copying server-side moves data without it crossing the
--   attacker's network, so byte counts of downloads never show it.
-- benign:
--   - "Copies to a partner's or the organization's archive account: list it in trusted_accounts."
--   - "Copies between the estate's own buckets: the destination is then one of the case's, or its
--     access log line is in the case; not reported."
--   - "S3 replication (the bucket's own replication role): S3's own action, not a CopyObject call."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   trusted_accounts: {type: "string[]", default: [], description: "Account ids copies may go to without a finding"}
-- ---
WITH own AS (
    SELECT list_distinct(list(account_id) || $trusted_accounts) AS accounts FROM own_accounts
),
logged AS (SELECT DISTINCT bucket FROM s3_access_logs),
ct AS (
    SELECT *,
           -- x-amz-copy-source is "bucket/key" (optionally with a leading / and ?versionId=), URL-encoded.
           url_decode(regexp_replace(split_part(json_extract_string(request_parameters, '$."x-amz-copy-source"'), '?', 1),
                                     '^/', '')) AS copy_source
    FROM trail_events
    WHERE event_name IN ('CopyObject', 'UploadPartCopy') AND NOT is_service
),
copies AS (
    SELECT event_time, actor, principal_account, source_ip, access_key_id,
           split_part(copy_source, '/', 1) AS source_bucket,
           substr(copy_source, length(split_part(copy_source, '/', 1)) + 2) AS source_key,
           bucket AS dest_bucket, succeeded, request_id
    FROM ct
    UNION ALL
    -- The source side only: neither CloudTrail nor the case's access logs saw the destination.
    SELECT event_time, actor, principal_account, remote_ip, access_key_id, bucket, object_key,
           NULL, succeeded, request_id
    FROM access_log_identity
    WHERE operation IN ('REST.COPY.OBJECT_GET', 'REST.COPY.PART_GET') AND NOT is_service
      AND NOT coalesce(request_id IN (SELECT request_id FROM ct WHERE request_id IS NOT NULL), false)
      AND NOT coalesce(request_id IN (SELECT request_id FROM s3_access_logs
                                      WHERE operation IN ('REST.COPY.OBJECT', 'REST.COPY.PART')
                                        AND request_id IS NOT NULL), false)
),
judged AS (
    SELECT c.*, b.account_id AS dest_account, o.accounts,
           (c.source_bucket IN (SELECT bucket FROM logged)
            OR list_contains(o.accounts, s.account_id)) AS source_is_ours
    FROM copies c CROSS JOIN own o
    LEFT JOIN bucket_accounts b ON b.bucket = c.dest_bucket
    LEFT JOIN bucket_accounts s ON s.bucket = c.source_bucket
    WHERE ($start IS NULL OR c.event_time >= $start) AND ($end IS NULL OR c.event_time < $end)
),
foreign_copies AS (
    SELECT *,
           CASE WHEN dest_account IS NOT NULL THEN 'bucket ' || dest_bucket || ' of foreign account ' || dest_account
                WHEN dest_bucket IS NOT NULL THEN 'bucket ' || dest_bucket || ', outside the case, by a principal of account ' || principal_account
                ELSE 'a bucket outside the case, by a principal of account ' || principal_account
           END AS destination
    FROM judged
    WHERE source_is_ours
      AND CASE WHEN dest_account IS NOT NULL THEN NOT list_contains(accounts, dest_account)
               ELSE (dest_bucket IS NULL OR dest_bucket NOT IN (SELECT bucket FROM logged))
                    AND principal_account IS NOT NULL AND NOT list_contains(accounts, principal_account)
          END
)
SELECT min(event_time) AS first_seen, max(event_time) AS last_seen, actor AS principal, source_ip,
       list_sort(list_distinct(list(access_key_id))) AS access_key_id,
       list_sort(list_distinct(list(source_bucket))) AS bucket,
       CASE WHEN count(DISTINCT source_key) <= 3
            THEN list_sort(list_distinct(list(source_key))) END AS object_key,
       count(*) AS events,
       count(*) FILTER (WHERE succeeded) || ' object(s) copied to ' || destination ||
       CASE WHEN bool_and(succeeded) THEN '' ELSE ' (' || count(*) FILTER (WHERE NOT succeeded) || ' failed)' END AS detail
FROM foreign_copies
GROUP BY actor, source_ip, destination
ORDER BY first_seen, principal, source_ip, detail
