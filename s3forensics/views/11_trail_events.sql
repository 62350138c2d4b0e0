-- CloudTrail events with the same who/outcome columns as access_requests.
CREATE OR REPLACE VIEW trail_events AS
SELECT
    c.*,
    coalesce(
        c.principal_arn,
        CASE WHEN c.account_id = 'ANONYMOUS_PRINCIPAL' THEN 'anonymous' END,
        c.invoked_by,
        CASE WHEN c.identity_type = 'AWSService' THEN c.source_ip END,
        c.principal_id,
        'unknown') AS principal,
    coalesce(
        c.session_issuer_arn,
        c.principal_arn,
        CASE WHEN c.account_id = 'ANONYMOUS_PRINCIPAL' THEN 'anonymous' END,
        c.invoked_by,
        CASE WHEN c.identity_type = 'AWSService' THEN c.source_ip END,
        c.principal_id,
        'unknown') AS actor,
    coalesce(c.account_id = 'ANONYMOUS_PRINCIPAL', false) AS is_anonymous,
    coalesce(nullif(regexp_extract(c.principal_arn, '^arn:aws[a-z-]*:(?:iam|sts)::([0-9]{12}):', 1), ''),
             CASE WHEN regexp_matches(c.account_id, '^[0-9]{12}$') THEN c.account_id END) AS principal_account,
    c.error_code IS NULL AS succeeded,
    coalesce(c.identity_type = 'AWSService' OR c.invoked_by IS NOT NULL OR c.source_ip = 'AWS Internal'
             OR c.source_ip LIKE '%.amazonaws.com' OR c.user_agent LIKE '%.amazonaws.com'
             OR c.principal_arn LIKE '%:assumed-role/AWSServiceRole%', false)
        OR lower(coalesce(c.user_agent, '')) LIKE '%aws-internal%' AS is_service,
    coalesce(json_extract_string(c.additional_event_data, '$.AuthenticationMethod') = 'QueryString', false)
        AS is_presigned
FROM cloudtrail_events c;
