-- Access log rows with the columns every query needs: who (principal, actor, account) and outcome.
CREATE OR REPLACE VIEW access_requests AS
SELECT
    s.*,
    coalesce(s.requester, 'anonymous') AS principal,
    -- A role's sessions differ per run; the role is the stable actor behind them.
    coalesce(
        regexp_replace(s.requester, '^arn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role/([^/]+)/.*$',
                       'arn:\1:iam::\2:role/\3'),
        'anonymous') AS actor,
    s.requester IS NULL AS is_anonymous,
    nullif(regexp_extract(s.requester, '^arn:aws[a-z-]*:(?:iam|sts)::([0-9]{12}):', 1), '') AS principal_account,
    (s.http_status // 100)::INTEGER AS status_class,
    (s.error_code IS NULL AND coalesce(s.http_status < 400, true)) AS succeeded,
    s.operation IN ('REST.GET.OBJECT', 'WEBSITE.GET.OBJECT', 'SOAP.GetObject',
                    'SOAP.GetObjectExtended', 'REST.COPY.OBJECT_GET') AS is_object_read,
    s.operation LIKE 'S3.%' AS is_s3_internal,
    -- AWS acting for itself or the owner: log delivery, lifecycle, CloudFront, console back-ends,
    -- and service-linked roles (only their AWS service can assume them: Macie, Config...), as
    -- trail_events already treats them.
    coalesce(s.requester LIKE 'svc:%' OR s.requester IN ('AmazonS3', 'AWS Internal')
             OR s.requester LIKE 'arn:aws:iam::cloudfront:user/%'
             OR regexp_matches(s.requester, '^arn:aws[a-z-]*:sts::[0-9]{12}:assumed-role/AWSServiceRole'), false)
        OR lower(coalesce(s.user_agent, '')) LIKE '%aws-internal%' AS is_service,
    -- A presigned URL is used by whoever holds it; the requester is only its signer.
    coalesce(s.authentication_type = 'QueryString', false) AS is_presigned,
    s.operation IN ('REST.DELETE.OBJECT', 'BATCH.DELETE.OBJECT', 'SOAP.DeleteObject',
                    'REST.DELETE.OBJECT_VERSION') AS is_object_delete
FROM s3_access_logs s;
