-- Which account owns each bucket. Evidence in order of strength: the accountId CloudTrail puts on
-- the AWS::S3::Bucket resource; the account in a partitioned-prefix access log key
-- (<prefix><account>/<region>/<bucket>/...); the recipient account, only when a single account
-- received the bucket's events (a cross-account request is also delivered to the caller's trail).
CREATE OR REPLACE VIEW bucket_accounts AS
WITH resource_claims AS (
    SELECT json_extract_string(r, '$.ARN') AS arn, json_extract_string(r, '$.accountId') AS account_id
    FROM (SELECT unnest(json_extract(resources, '$[*]')) AS r FROM cloudtrail_events
          WHERE resources IS NOT NULL AND json_type(resources) = 'ARRAY')
    WHERE json_extract_string(r, '$.type') = 'AWS::S3::Bucket'
),
from_resources AS (
    SELECT regexp_extract(arn, '^arn:aws[a-z-]*:s3:::([^/]+)$', 1) AS bucket,
           first(account_id ORDER BY n DESC, account_id) AS account_id
    FROM (SELECT arn, account_id, count(*) AS n FROM resource_claims
          WHERE account_id IS NOT NULL GROUP BY ALL)
    GROUP BY 1
),
from_keys AS (
    SELECT DISTINCT
        regexp_extract(case_path, '/([0-9]{12})/[a-z0-9-]+/([^/]+)/[0-9]{4}/[0-9]{2}/[0-9]{2}/[^/]+$', 2) AS bucket,
        regexp_extract(case_path, '/([0-9]{12})/[a-z0-9-]+/([^/]+)/[0-9]{4}/[0-9]{2}/[0-9]{2}/[^/]+$', 1) AS account_id
    FROM evidence
    WHERE kind = 's3-access'
),
from_recipient AS (
    SELECT bucket, any_value(recipient_account_id) AS account_id
    FROM cloudtrail_events
    WHERE bucket IS NOT NULL AND recipient_account_id IS NOT NULL AND event_source = 's3.amazonaws.com'
    GROUP BY bucket
    HAVING count(DISTINCT recipient_account_id) = 1
)
SELECT bucket, account_id, 'cloudtrail resource' AS basis FROM from_resources WHERE bucket <> ''
UNION ALL
SELECT bucket, account_id, 'access log key layout' FROM from_keys
WHERE bucket <> '' AND bucket NOT IN (SELECT bucket FROM from_resources)
UNION ALL
SELECT bucket, account_id, 'cloudtrail recipient' FROM from_recipient
WHERE bucket NOT IN (SELECT bucket FROM from_resources)
  AND bucket NOT IN (SELECT bucket FROM from_keys WHERE bucket <> '');
