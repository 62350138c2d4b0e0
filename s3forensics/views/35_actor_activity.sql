-- Both sources in one shape for behaviour baselines: who, from where, with what, on what.
-- Services acting for AWS (log delivery, lifecycle, CloudFront, console back-ends) are marked so
-- detections about people and keys can leave them out.
CREATE OR REPLACE VIEW actor_activity AS
WITH unioned AS (
    SELECT 'access_log' AS source, event_time, actor, principal, principal_account, is_anonymous,
           is_service, is_presigned,
           remote_ip AS source_ip, access_key_id, user_agent, bucket, object_key,
           operation, succeeded, error_code, bytes_sent AS bytes_out, request_id
    FROM access_log_identity
    UNION ALL
    SELECT 'cloudtrail', event_time, actor, principal, principal_account, is_anonymous,
           is_service, is_presigned,
           source_ip, access_key_id, user_agent, bucket, object_key,
           event_name, succeeded, error_code, bytes_out, request_id
    FROM trail_events
)
SELECT *,
       -- The same request in both sources: counting detections keep the access log copy.
       coalesce(source = 'cloudtrail' AND request_id IN
           (SELECT request_id FROM s3_access_logs WHERE request_id IS NOT NULL), false) AS also_in_access_log,
       CASE
           WHEN regexp_matches(source_ip, '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$')
               THEN regexp_extract(source_ip, '^([0-9]+\.[0-9]+\.[0-9]+)\.', 1) || '.0/24'
           WHEN source_ip LIKE '%:%'
               THEN array_to_string(list_slice(string_split(source_ip, ':'), 1, 3), ':') || '::/48'
       END AS network,
       coalesce(regexp_matches(source_ip,
           '^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|127\.|169\.254\.|100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.)')
           OR lower(source_ip) SIMILAR TO '(fc|fd|fe8|fe9|fea|feb)[0-9a-f]*:.*'
           OR source_ip = '::1', false) AS is_private_ip,
       nullif(lower(regexp_replace(regexp_extract(coalesce(user_agent, ''), '^\[?\s*([^/ \[\]]+)', 1), '\s+', '')), '') AS ua_family
FROM unioned;
