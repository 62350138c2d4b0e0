-- Every access log row with the identity CloudTrail knows for the same request (logged within
-- request_skew_seconds() of it, as in s3_request_correlation).
CREATE OR REPLACE VIEW access_log_identity AS
SELECT a.*,
       c.access_key_id, c.session_issuer_arn, c.session_mfa, c.identity_type,
       c.principal_arn AS cloudtrail_principal, c.event_id AS cloudtrail_event_id
FROM access_requests a
LEFT JOIN (
    SELECT * FROM cloudtrail_events
    WHERE event_source = 's3.amazonaws.com' AND request_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY event_time, evidence_id, record_no) = 1
) c ON a.request_id = c.request_id AND abs(epoch(c.event_time) - epoch(a.event_time)) <= request_skew_seconds();
