-- title: Everything done with one access key
-- kind: hunt
-- source: both
-- mitre: [T1078.004]
-- description: >
--   Every CloudTrail event signed with an access key, the calls that issued it (AssumeRole*,
--   GetSessionToken, CreateAccessKey...) or changed it (UpdateAccessKey, DeleteAccessKey), and
--   the access log requests made with it: those CloudTrail matched by request id, and presigned
--   URLs whose query string names the key. `matched_on` says why each row is here.
-- params:
--   access_key_id: {type: string, default: null, description: "Access key id (AKIA... long-term, ASIA... temporary)"}
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   limit: {type: integer, default: 10000, description: "Most rows to return"}
-- ---
WITH sal AS (
    SELECT *,
           coalesce(nullif(regexp_extract(request_uri, '[?&]X-Amz-Credential=([A-Za-z0-9]+)', 1), ''),
                    nullif(regexp_extract(request_uri, '[?&]AWSAccessKeyId=([A-Za-z0-9]+)', 1), '')) AS presigned_key
    FROM access_log_identity
    WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
ct AS (
    SELECT *,
           coalesce(json_extract_string(response_elements, '$.credentials.accessKeyId'),
                    json_extract_string(response_elements, '$.accessKey.accessKeyId')) AS issued_key,
           json_extract_string(request_parameters, '$.accessKeyId') AS named_key
    FROM trail_events
    WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
)
SELECT event_time, 's3-access' AS source,
       CASE WHEN access_key_id = $access_key_id THEN 'request signed with the key (identity from CloudTrail)'
            ELSE 'presigned URL signed with the key' END AS matched_on,
       principal, remote_ip AS source_ip, operation, bucket, object_key,
       CASE WHEN succeeded THEN 'success' ELSE coalesce(error_code, 'HTTP ' || http_status) END AS outcome,
       bytes_sent AS bytes, user_agent, request_id, evidence_id, line_no AS position
FROM sal
WHERE access_key_id = $access_key_id OR presigned_key = $access_key_id
UNION ALL
SELECT event_time, 'cloudtrail',
       CASE WHEN issued_key = $access_key_id THEN 'call that issued the key'
            WHEN access_key_id = $access_key_id THEN 'request signed with the key'
            ELSE 'call that changed the key' END,
       principal, source_ip, event_name, bucket, object_key,
       CASE WHEN succeeded THEN 'success' ELSE error_code END,
       bytes_out, user_agent, request_id, evidence_id, record_no
FROM ct
WHERE access_key_id = $access_key_id OR issued_key = $access_key_id OR named_key = $access_key_id
ORDER BY event_time, source <> 's3-access', evidence_id, position
LIMIT $limit
