-- title: Everything one principal did
-- kind: hunt
-- source: both
-- mitre: [T1078.004]
-- description: >
--   Every access log request and CloudTrail event of one principal, in time order. The value is
--   matched against the principal ARN, the role behind a session, the access key, the CloudTrail
--   user name and principal id, and an IAM user's name at the end of a requester ARN. Access log
--   rows carry the access key CloudTrail recorded for the same request. Returns nothing until a
--   principal is given.
-- params:
--   principal: {type: string, default: null, description: "ARN, role ARN, user name, principal id or access key id to follow"}
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   limit: {type: integer, default: 10000, description: "Most rows to return"}
-- ---
WITH sal AS (
    SELECT event_time, 's3-access' AS source, principal, actor, remote_ip AS source_ip,
           access_key_id, operation, bucket, object_key,
           CASE WHEN succeeded THEN 'success' ELSE coalesce(error_code, 'HTTP ' || http_status) END AS outcome,
           bytes_sent AS bytes, user_agent, request_id, evidence_id, line_no AS position
    FROM access_log_identity
    WHERE $principal IS NOT NULL
      AND (principal = $principal OR actor = $principal OR access_key_id = $principal
           OR cloudtrail_principal = $principal OR session_issuer_arn = $principal
           OR (requester LIKE 'arn:%:user/%' AND ends_with(requester, '/' || $principal)))
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
ct AS (
    SELECT event_time, 'cloudtrail' AS source, principal, actor, source_ip,
           access_key_id, event_name, bucket, object_key,
           CASE WHEN succeeded THEN 'success' ELSE error_code END,
           bytes_out, user_agent, request_id, evidence_id, record_no
    FROM trail_events
    WHERE $principal IS NOT NULL
      AND (principal = $principal OR actor = $principal OR principal_arn = $principal
           OR session_issuer_arn = $principal OR user_name = $principal
           OR access_key_id = $principal OR principal_id = $principal)
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT * FROM sal
UNION ALL
SELECT * FROM ct
ORDER BY event_time, source <> 's3-access', evidence_id, position
LIMIT $limit
