-- title: Bucket default encryption moved to a foreign or unused KMS key, or removed
-- kind: detection
-- severity: high
-- mitre: [T1486, T1485]
-- source: cloudtrail
-- description: >
--   PutBucketEncryption whose default KMS key belongs to another account (new objects are then
--   encrypted with a key the attacker controls and can revoke: ransom without touching a single
--   object), or names a key no earlier event of the case mentions (no request, response or
--   resource with its id: a key the estate never used); and DeleteBucketEncryption. Failed
--   attempts are reported too.
-- benign:
--   - "A planned key rotation to a new customer-managed key: the key's CreateKey and its first
--     use by S3 appear in CloudTrail before the change, which then names a key already seen (load
--     the KMS management events with the case)."
--   - "A key of the organization's central security account: list that account in
--     trusted_accounts."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   trusted_accounts: {type: "string[]", default: [], description: "Account ids whose KMS keys are trusted (neither foreign nor judged by earlier use)"}
-- ---
WITH own AS (
    SELECT list_distinct(list(account_id) || $trusted_accounts) AS accounts FROM own_accounts
),
changes AS (
    SELECT *,
           coalesce(json_extract(request_parameters, '$.ServerSideEncryptionConfiguration'),
                    json_extract(request_parameters, '$.serverSideEncryptionConfiguration')) AS cfg
    FROM trail_events
    WHERE event_source = 's3.amazonaws.com'
      AND event_name IN ('PutBucketEncryption', 'DeleteBucketEncryption')
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
rules AS (
    SELECT c.*,
           unnest(CASE WHEN json_type(cfg, '$.Rule') = 'ARRAY' THEN json_extract(cfg, '$.Rule[*]')
                       ELSE [json_extract(cfg, '$.Rule')] END) AS rule
    FROM changes c WHERE event_name = 'PutBucketEncryption' AND cfg IS NOT NULL
),
keys AS (
    SELECT r.*, json_extract_string(rule, '$.ApplyServerSideEncryptionByDefault.KMSMasterKeyID') AS kms_key
    FROM rules r
),
judged AS (
    SELECT k.*,
           nullif(regexp_extract(kms_key, '^arn:aws[a-z-]*:kms:[a-z0-9-]+:([0-9]{12}):', 1), '') AS key_account,
           -- The part of a key ARN, id or alias that any mention of the key contains.
           regexp_extract(kms_key, '(key/[0-9a-zA-Z-]+|alias/[^ "]+|mrk-[0-9a-f]+|[0-9a-f]{8}-[0-9a-f-]{27})$', 1) AS key_token
    FROM keys k WHERE kms_key IS NOT NULL
),
verdicts AS (
    SELECT j.*,
           CASE
               WHEN list_contains($trusted_accounts, key_account) THEN NULL
               WHEN key_account IS NOT NULL AND NOT list_contains(o.accounts, key_account)
                   THEN 'default encryption set to KMS key ' || kms_key || ' of foreign account ' || key_account
               WHEN NOT EXISTS (
                   SELECT 1 FROM trail_events e
                   WHERE e.event_time < j.event_time
                     AND NOT (e.evidence_id = j.evidence_id AND e.record_no = j.record_no)
                     AND key_token <> ''
                     AND contains(coalesce(e.request_parameters, '') || coalesce(e.response_elements, '')
                                  || coalesce(e.resources, '') || coalesce(e.additional_event_data, ''),
                                  replace(key_token, 'key/', '')))
                   THEN 'default encryption set to KMS key ' || kms_key || ', which no earlier event mentions'
           END AS what
    FROM judged j CROSS JOIN own o
)
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, bucket, NULL::VARCHAR AS object_key, 1::BIGINT AS events,
       what || CASE WHEN succeeded THEN '' ELSE ' (failed: ' || error_code || ')' END AS detail
FROM verdicts WHERE what IS NOT NULL
UNION ALL
SELECT event_time, event_time, actor, source_ip, access_key_id, bucket, NULL, 1,
       'default encryption configuration deleted' ||
       CASE WHEN succeeded THEN '' ELSE ' (failed: ' || error_code || ')' END
FROM changes WHERE event_name = 'DeleteBucketEncryption'
ORDER BY first_seen, principal, bucket, detail
