-- title: Everything done from one IP address
-- kind: hunt
-- source: both
-- mitre: [T1078.004]
-- description: >
--   Every access log request and CloudTrail event from one source address, in time order, with
--   who made it and the outcome. Returns nothing until an address is given.
-- params:
--   ip: {type: string, default: null, description: "Source IP address exactly as logged (IPv4 or IPv6)"}
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
    WHERE remote_ip = $ip
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
ct AS (
    SELECT event_time, 'cloudtrail' AS source, principal, actor, source_ip,
           access_key_id, event_name, bucket, object_key,
           CASE WHEN succeeded THEN 'success' ELSE error_code END,
           bytes_out, user_agent, request_id, evidence_id, record_no
    FROM trail_events
    WHERE source_ip = $ip
      AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT * FROM sal
UNION ALL
SELECT * FROM ct
ORDER BY event_time, source <> 's3-access', evidence_id, position
LIMIT $limit
