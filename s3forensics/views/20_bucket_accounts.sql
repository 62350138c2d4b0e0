-- Which account owns each bucket: the account most CloudTrail S3 events about it were delivered to,
-- else the account in a partitioned-prefix access log key (<prefix><account>/<region>/<bucket>/...).
CREATE OR REPLACE VIEW bucket_accounts AS
WITH from_trail AS (
    SELECT bucket, recipient_account_id AS account_id, count(*) AS n
    FROM cloudtrail_events
    WHERE bucket IS NOT NULL AND recipient_account_id IS NOT NULL
      AND event_source = 's3.amazonaws.com'
    GROUP BY ALL
), from_keys AS (
    SELECT DISTINCT
        regexp_extract(case_path, '/([0-9]{12})/[a-z0-9-]+/([^/]+)/[0-9]{4}/[0-9]{2}/[0-9]{2}/[^/]+$', 2) AS bucket,
        regexp_extract(case_path, '/([0-9]{12})/[a-z0-9-]+/([^/]+)/[0-9]{4}/[0-9]{2}/[0-9]{2}/[^/]+$', 1) AS account_id
    FROM evidence
    WHERE kind = 's3-access'
), trail_best AS (
    SELECT bucket, arg_max(account_id, n) AS account_id FROM from_trail GROUP BY bucket
)
SELECT bucket, account_id, 'cloudtrail' AS basis FROM trail_best
UNION ALL
SELECT k.bucket, k.account_id, 'access log key layout' FROM from_keys k
WHERE k.bucket <> '' AND k.bucket NOT IN (SELECT bucket FROM trail_best);
