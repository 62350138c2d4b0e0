-- Access log rows matched with CloudTrail S3 events on request id, confirmed by host id = x-amz-id-2.
-- Access log time is receipt, CloudTrail time is completion: a match may differ by the request's
-- duration, so the join tolerates request_skew_seconds() of skew (15 minutes, enrich/macros.py
-- REQUEST_SKEW; request ids are unique, the bound only guards against reuse across long cases).
CREATE OR REPLACE VIEW s3_request_correlation AS
WITH a AS (SELECT * FROM access_requests WHERE request_id IS NOT NULL),
c AS (SELECT * FROM trail_events WHERE event_source = 's3.amazonaws.com' AND request_id IS NOT NULL),
sal_buckets AS (SELECT DISTINCT bucket FROM s3_access_logs),
ct_data_buckets AS (SELECT DISTINCT bucket FROM cloudtrail_events WHERE event_category = 'Data' AND bucket IS NOT NULL)
SELECT
    CASE WHEN a.request_id IS NOT NULL AND c.request_id IS NOT NULL THEN 'both'
         WHEN a.request_id IS NOT NULL THEN 'access_log_only'
         ELSE 'cloudtrail_only' END AS match_status,
    CASE
        WHEN a.request_id IS NOT NULL AND c.request_id IS NOT NULL THEN
            CASE WHEN a.host_id IS NOT NULL AND c.x_amz_id_2 IS NOT NULL AND a.host_id <> c.x_amz_id_2
                 THEN 'request id matches but host id differs: check both records' END
        WHEN c.request_id IS NULL THEN
            CASE
                WHEN a.is_s3_internal THEN 'S3''s own action (lifecycle, replication...): not a CloudTrail event'
                WHEN a.error_code IN ('InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken',
                                      'ExpiredToken', 'TokenRefreshRequired', 'InvalidSecurity')
                    THEN 'authentication failed: CloudTrail does not log requests with invalid credentials'
                WHEN a.operation LIKE 'WEBSITE.%' THEN 'website endpoint request: not logged by CloudTrail'
                WHEN a.bucket NOT IN (SELECT bucket FROM ct_data_buckets)
                     AND (a.operation LIKE '%.OBJECT%' OR a.operation IN ('REST.GET.BUCKET', 'BATCH.DELETE.OBJECT'))
                    THEN 'no CloudTrail data events for this bucket (trail event selectors)'
                ELSE 'not in the loaded CloudTrail (delivery is best effort, or outside the loaded window)'
            END
        ELSE
            CASE
                WHEN c.bucket IS NULL OR c.bucket NOT IN (SELECT bucket FROM sal_buckets)
                    THEN 'no server access logs loaded for this bucket'
                ELSE 'not in the loaded access logs (delivery is best effort, or outside the loaded window)'
            END
    END AS reason,
    coalesce(a.request_id, c.request_id) AS request_id,
    coalesce(a.bucket, c.bucket) AS bucket,
    coalesce(a.object_key, c.object_key) AS object_key,
    a.event_time AS access_log_time,
    c.event_time AS cloudtrail_time,
    a.operation,
    c.event_name,
    a.remote_ip,
    c.source_ip,
    a.requester,
    c.principal_arn,
    c.access_key_id,
    c.session_issuer_arn,
    c.session_mfa,
    c.identity_type,
    a.http_status,
    a.error_code AS access_log_error,
    c.error_code AS cloudtrail_error,
    a.bytes_sent,
    a.object_size,
    c.bytes_out,
    c.bytes_in,
    a.host_id,
    c.x_amz_id_2,
    a.host_id IS NOT NULL AND a.host_id = c.x_amz_id_2 AS host_id_confirmed,
    a.user_agent AS access_log_user_agent,
    c.user_agent AS cloudtrail_user_agent,
    a.evidence_id AS access_log_evidence,
    a.line_no,
    c.evidence_id AS cloudtrail_evidence,
    c.record_no
FROM a FULL OUTER JOIN c
  ON a.request_id = c.request_id
 AND abs(epoch(c.event_time) - epoch(a.event_time)) <= request_skew_seconds();
