-- For temporary credentials, the AssumeRole* event that issued them: who asked, from where, when.
CREATE OR REPLACE VIEW session_origins AS
SELECT
    json_extract_string(response_elements, '$.credentials.accessKeyId') AS session_access_key_id,
    event_name AS issued_by_event,
    event_time AS issued_at,
    json_extract_string(request_parameters, '$.roleArn') AS role_arn,
    json_extract_string(request_parameters, '$.roleSessionName') AS session_name,
    json_extract_string(response_elements, '$.assumedRoleUser.arn') AS session_arn,
    principal AS issued_to_principal,
    source_ip AS issued_to_ip,
    user_agent AS issued_to_user_agent,
    access_key_id AS caller_access_key_id,
    evidence_id, record_no
FROM trail_events
WHERE event_source = 'sts.amazonaws.com' AND event_name LIKE 'AssumeRole%'
  AND error_code IS NULL;
