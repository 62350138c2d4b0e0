-- Both sources in one shape for behaviour baselines: who, from where, with what, on what.
-- Services acting for AWS (log delivery, lifecycle, CloudFront, console back-ends) are marked so
-- detections about people and keys can leave them out. `source` is the log source's name in
-- the case's vocabulary (schema.LogSource). Addresses and clients are classified by the macros
-- s3forensics/enrich/macros.py writes from enrich's own rules, so detections and `enrich` agree.
CREATE OR REPLACE VIEW actor_activity AS
WITH unioned AS (
    SELECT 's3-access' AS source, event_time, actor, principal, principal_account, is_anonymous,
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
),
-- A client's family once per distinct user agent: the rules are many (dozens of regular
-- expressions a row), the distinct user agents few.
families AS (
    SELECT user_agent, user_agent_family(user_agent) AS ua_family
    FROM (SELECT user_agent FROM s3_access_logs UNION SELECT user_agent FROM cloudtrail_events)
    WHERE user_agent IS NOT NULL
),
-- An address's network and class once per distinct address, for the same reason.
addresses AS (
    SELECT ip, ip_network(ip) AS network, ip_is_private(ip) AS is_private_ip
    FROM (SELECT remote_ip AS ip FROM s3_access_logs UNION SELECT source_ip FROM cloudtrail_events)
    WHERE ip IS NOT NULL
)
SELECT u.*,
       -- The same request in both sources: counting detections keep the access log copy.
       coalesce(u.source = 'cloudtrail' AND u.request_id IN
           (SELECT request_id FROM s3_access_logs WHERE request_id IS NOT NULL), false) AS also_in_access_log,
       n.network,
       coalesce(n.is_private_ip, false) AS is_private_ip,
       f.ua_family
FROM unioned u
LEFT JOIN families f ON f.user_agent = u.user_agent
LEFT JOIN addresses n ON n.ip = u.source_ip;
