-- title: IAM persistence added by a principal that just touched S3 data or came from a new network
-- kind: detection
-- severity: high
-- mitre: [T1098, T1136.003, T1098.001, T1098.003]
-- source: cloudtrail
-- description: >
--   A new IAM user, access key or console password, a managed policy with administrator, IAM or
--   S3 rights attached to a user (or an inline user policy granting such actions), made by a
--   principal that read, wrote or deleted S3 objects in the hours before, or that acted from a
--   network it had not used before (after its own baseline period): the way a stolen key keeps
--   access after the key is revoked. A role trust policy (UpdateAssumeRolePolicy, CreateRole)
--   that lets a foreign account or anyone assume the role is reported whoever made it.
-- stratus:
--   - aws.persistence.iam-backdoor-user
--   - aws.persistence.iam-create-admin-user
--   - aws.persistence.iam-create-user-login-profile
--   - aws.persistence.iam-backdoor-role
--   - aws.persistence.iam-create-backdoor-role
-- benign:
--   - "Routine administration (new users, key rotation, policy changes) by administrators from
--     their usual networks who do not also work with the data: quiet by construction."
--   - "An administrator who reads objects and then creates a user the same morning: lower
--     lookback_hours, or read the detail, which says how many objects were touched."
--   - "Cross-account roles for partners or the organization's security tooling: list those
--     accounts in trusted_accounts."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
--   lookback_hours: {type: integer, default: 6, description: "Hours before the IAM change in which touching S3 objects makes the principal suspect"}
--   baseline_hours: {type: integer, default: 24, description: "Hours after a principal's first appearance during which every network it uses counts as its own"}
--   trusted_accounts: {type: "string[]", default: [], description: "Account ids a role may trust without a finding"}
-- ---
WITH own AS (
    SELECT list_distinct(list(account_id) || $trusted_accounts) AS accounts FROM own_accounts
),
iam AS (
    SELECT t.*,
           json_extract_string(request_parameters, '$.userName') AS target_user,
           json_extract_string(request_parameters, '$.roleName') AS target_role,
           json_extract_string(request_parameters, '$.policyArn') AS policy_arn,
           coalesce(json_extract_string(request_parameters, '$.policyDocument'),
                    json_extract_string(request_parameters, '$.assumeRolePolicyDocument')) AS doc
    FROM trail_events t
    WHERE event_source = 'iam.amazonaws.com' AND succeeded AND NOT is_service
      AND event_name IN ('CreateUser', 'CreateAccessKey', 'CreateLoginProfile', 'UpdateLoginProfile',
                         'AttachUserPolicy', 'PutUserPolicy', 'UpdateAssumeRolePolicy', 'CreateRole')
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
described AS (
    SELECT i.*,
           list_filter(list_distinct(regexp_extract_all(coalesce(doc, ''),
                           '(?:arn:aws[a-z-]*:iam::|"AWS"\s*:\s*\[?\s*")([0-9]{12})', 1)),
                       lambda a: NOT list_contains(o.accounts, a)) AS foreign_accounts,
           regexp_matches(coalesce(doc, ''), '"(AWS|Principal)"\s*:\s*\[?\s*"\*"') AS trusts_anyone,
           CASE event_name
               WHEN 'CreateUser' THEN 'created IAM user ' || coalesce(target_user, '?')
               WHEN 'CreateAccessKey' THEN 'created an access key for ' || coalesce('user ' || target_user, 'itself')
               WHEN 'CreateLoginProfile' THEN 'gave user ' || coalesce(target_user, '?') || ' a console password'
               WHEN 'UpdateLoginProfile' THEN 'changed the console password of user ' || coalesce(target_user, '?')
               WHEN 'AttachUserPolicy' THEN
                   CASE WHEN regexp_matches(coalesce(policy_arn, ''),
                            ':iam::aws:policy/(.*/)?([A-Za-z]*Administrator[A-Za-z]*|PowerUserAccess|IAMFullAccess|[A-Za-z]*S3[A-Za-z]*)$')
                        THEN 'attached ' || regexp_extract(policy_arn, '[^/]+$') || ' to user ' || coalesce(target_user, '?') END
               WHEN 'PutUserPolicy' THEN
                   CASE WHEN regexp_matches(coalesce(doc, ''), '"Effect"\s*:\s*"Allow"')
                             AND regexp_matches(coalesce(doc, ''), '"Action"\s*:\s*(\[[^\]]*)?"(\*|s3:[^"]*|iam:[^"]*)"')
                        THEN 'put an inline policy with S3, IAM or all rights on user ' || coalesce(target_user, '?') END
           END AS what
    FROM iam i CROSS JOIN own o
),
context AS (
    SELECT d.*,
           (SELECT count(*) FROM actor_activity a
            WHERE a.actor = d.actor AND a.succeeded AND NOT a.also_in_access_log
              AND a.event_time <= d.event_time AND a.event_time >= d.event_time - to_hours($lookback_hours)
              AND a.operation IN ('REST.GET.OBJECT', 'REST.PUT.OBJECT', 'REST.DELETE.OBJECT', 'BATCH.DELETE.OBJECT',
                                  'REST.COPY.OBJECT', 'REST.COPY.OBJECT_GET', 'REST.POST.UPLOAD',
                                  'GetObject', 'PutObject', 'DeleteObject', 'DeleteObjects', 'CopyObject',
                                  'UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload')) AS data_touches,
           (SELECT min(a.event_time) FROM actor_activity a WHERE a.actor = d.actor AND NOT a.is_presigned) AS actor_first,
           (SELECT any_value(network) FROM actor_activity a WHERE a.source = 'cloudtrail' AND a.request_id = d.request_id
                                                               AND NOT a.is_private_ip) AS net,
           (SELECT list(DISTINCT a.network) FROM actor_activity a
            WHERE a.actor = d.actor AND a.event_time < d.event_time AND NOT a.is_presigned
              AND a.network IS NOT NULL) AS earlier_networks
    FROM described d
),
judged AS (
    SELECT *,
           CASE WHEN event_name IN ('UpdateAssumeRolePolicy', 'CreateRole') AND (trusts_anyone OR array_length(foreign_accounts) > 0)
                THEN 'role ' || coalesce(target_role, '?') || ' may now be assumed by ' ||
                     CASE WHEN trusts_anyone THEN 'anyone ("*")'
                          ELSE 'foreign account(s) ' || array_to_string(list_sort(foreign_accounts), ', ') END
                WHEN what IS NOT NULL AND data_touches > 0
                THEN what || '; the principal touched ' || data_touches || ' S3 object(s) in the ' ||
                     $lookback_hours || ' h before'
                WHEN what IS NOT NULL AND net IS NOT NULL AND event_time >= actor_first + to_hours($baseline_hours)
                     AND NOT list_contains(coalesce(earlier_networks, []), net)
                THEN what || ' from network ' || net || ', new for the principal'
           END AS detail
    FROM context
)
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, NULL::VARCHAR AS bucket, NULL::VARCHAR AS object_key, 1::BIGINT AS events, detail
FROM judged
WHERE detail IS NOT NULL
ORDER BY first_seen, principal, detail
