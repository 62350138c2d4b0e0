-- title: Bucket exposed publicly or to a foreign account
-- kind: detection
-- severity: critical
-- mitre: [T1537, T1530, T1098]
-- source: cloudtrail
-- description: >
--   A successful change that opens a bucket: a bucket policy with an unconditioned Allow for
--   everyone ("*"), a policy granting an account outside the case's accounts, an ACL granting
--   AllUsers or AuthenticatedUsers (or a public canned ACL), or Block Public Access switched
--   off. Deny statements (such as "deny insecure transport" for "*") are not exposure. Accounts
--   listed in trusted_accounts count as the estate's own.
-- stratus:
--   - aws.exfiltration.s3-backdoor-bucket-policy
-- benign:
--   - "Grants to partner or organization accounts: list them in trusted_accounts."
--   - "Deny statements for everyone (deny insecure transport): not exposure, not reported."
--   - "Public website buckets opened on purpose: the detail says what was opened; confirm with the owner."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   trusted_accounts: {type: "string[]", default: [], description: "Extra account ids that are not foreign (partners, other org accounts)"}
-- ---
WITH known AS (
    SELECT list_distinct(list(account_id) || $trusted_accounts) AS accounts FROM case_accounts
),
changes AS (
    SELECT * FROM trail_events
    WHERE succeeded AND event_source = 's3.amazonaws.com'
      AND event_name IN ('PutBucketPolicy', 'PutBucketAcl', 'PutObjectAcl',
                         'PutBucketPublicAccessBlock', 'DeleteBucketPublicAccessBlock')
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
policies AS (
    SELECT c.*,
           CASE WHEN json_type(request_parameters, '$.bucketPolicy') = 'VARCHAR'
                     AND json_valid(json_extract_string(request_parameters, '$.bucketPolicy'))
                THEN json(json_extract_string(request_parameters, '$.bucketPolicy'))
                ELSE json_extract(request_parameters, '$.bucketPolicy') END AS policy
    FROM changes c WHERE event_name = 'PutBucketPolicy'
),
statements AS (
    SELECT p.*,
           unnest(CASE WHEN json_type(policy, '$.Statement') = 'ARRAY'
                       THEN json_extract(policy, '$.Statement[*]')
                       ELSE [json_extract(policy, '$.Statement')] END) AS st
    FROM policies p
),
granted AS (
    SELECT s.*,
           json_extract(st, '$.Principal')::VARCHAR AS principal_text,
           json_extract(st, '$.Condition') IS NOT NULL AS conditioned
    FROM statements s
    WHERE json_extract_string(st, '$.Effect') = 'Allow'
),
policy_findings AS (
    SELECT g.*, k.accounts,
           (principal_text = '"*"' OR regexp_matches(principal_text, '"AWS"\s*:\s*(\[[^\]]*)?"\*"'))
               AND NOT conditioned AS is_public,
           list_filter(
               regexp_extract_all(principal_text, '(?:arn:aws[a-z-]*:iam::|")([0-9]{12})(?::|")', 1),
               lambda a: NOT list_contains(k.accounts, a)) AS foreign_accounts
    FROM granted g CROSS JOIN known k
),
exposures AS (
    SELECT event_time, actor, source_ip, access_key_id, bucket, object_key, event_name,
           CASE WHEN bool_or(is_public) THEN 'policy allows everyone (Principal "*")'
                ELSE 'policy grants foreign account(s) ' ||
                     array_to_string(list_sort(list_distinct(flatten(list(foreign_accounts)))), ', ')
           END AS what
    FROM policy_findings
    WHERE is_public OR array_length(foreign_accounts) > 0
    GROUP BY event_time, actor, source_ip, access_key_id, bucket, object_key, event_name,
             evidence_id, record_no
    UNION ALL
    SELECT event_time, actor, source_ip, access_key_id, bucket, object_key, event_name,
           'ACL grants ' || CASE WHEN request_parameters ILIKE '%AllUsers%' OR request_parameters ILIKE '%public-read%'
                                 THEN 'everyone (AllUsers / public canned ACL)'
                                 ELSE 'any AWS account (AuthenticatedUsers)' END
    FROM changes
    WHERE event_name IN ('PutBucketAcl', 'PutObjectAcl')
      AND (request_parameters ILIKE '%acs.amazonaws.com/groups/global/AllUsers%'
           OR request_parameters ILIKE '%acs.amazonaws.com/groups/global/AuthenticatedUsers%'
           OR regexp_matches(request_parameters,
                '"x-amz-acl"\s*:\s*\[?\s*"(public-read|public-read-write|authenticated-read)"'))
    UNION ALL
    SELECT event_time, actor, source_ip, access_key_id, bucket, object_key, event_name,
           'Block Public Access ' || CASE WHEN event_name LIKE 'Delete%' THEN 'removed' ELSE 'switched off' END
    FROM changes
    WHERE event_name = 'DeleteBucketPublicAccessBlock'
       OR (event_name = 'PutBucketPublicAccessBlock'
           AND regexp_matches(request_parameters,
                '"(BlockPublicAcls|IgnorePublicAcls|BlockPublicPolicy|RestrictPublicBuckets)"\s*:\s*"?false'))
)
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, bucket, object_key, 1::BIGINT AS events, event_name || ': ' || what AS detail
FROM exposures
ORDER BY first_seen, principal, detail
