-- title: Assumed-role sessions - issued to whom, from where, and what they did
-- kind: hunt
-- source: both
-- mitre: [T1078.004, T1550.001]
-- description: >
--   Each role session issued in the window (successful AssumeRole* events): the role and session
--   name, who asked for it, from which address and tool, then what the session did: CloudTrail
--   events signed with its access key, access log requests matched by request id or made by the
--   session ARN within the requested duration (an hour when none is given), the buckets it
--   touched and the addresses it was used from. `used_from_other_ips` lists addresses other than
--   the one that obtained it: credentials taken elsewhere.
-- params:
--   start: {type: timestamp, default: null, description: "Window start for issue time (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end for issue time (exclusive, UTC); null for the whole case"}
-- ---
WITH sessions AS (
    SELECT o.*,
           o.issued_at + to_seconds(coalesce(
               TRY_CAST(json_extract_string(c.request_parameters, '$.durationSeconds') AS BIGINT), 3600)) AS expires_at
    FROM session_origins o
    JOIN cloudtrail_events c ON c.evidence_id = o.evidence_id AND c.record_no = o.record_no
    WHERE o.session_access_key_id IS NOT NULL
      AND ($start IS NULL OR o.issued_at >= $start) AND ($end IS NULL OR o.issued_at < $end)
),
used AS (
    SELECT s.session_access_key_id, 'cloudtrail' AS source, t.event_time, t.bucket, t.source_ip, t.request_id
    FROM sessions s JOIN trail_events t ON t.access_key_id = s.session_access_key_id
    UNION ALL
    SELECT s.session_access_key_id, 's3-access', a.event_time, a.bucket, a.remote_ip, a.request_id
    FROM sessions s JOIN access_log_identity a ON a.access_key_id = s.session_access_key_id
    UNION ALL
    -- Access log rows CloudTrail has no copy of: the session ARN within the session's lifetime.
    SELECT s.session_access_key_id, 's3-access', a.event_time, a.bucket, a.remote_ip, a.request_id
    FROM sessions s JOIN access_log_identity a
      ON a.requester = s.session_arn AND a.event_time >= s.issued_at AND a.event_time < s.expires_at
    WHERE a.access_key_id IS NULL
),
activity AS (
    SELECT session_access_key_id,
           count(*) FILTER (WHERE source = 'cloudtrail') AS cloudtrail_events,
           count(*) FILTER (WHERE source = 's3-access') AS access_log_requests,
           count(DISTINCT bucket) AS buckets,
           coalesce(list_sort(list(DISTINCT bucket) FILTER (WHERE bucket IS NOT NULL)), []) AS bucket_names,
           coalesce(list_sort(list(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL)), []) AS used_from_ips,
           min(event_time) AS first_used,
           max(event_time) AS last_used
    FROM used
    GROUP BY session_access_key_id
)
SELECT s.issued_at, s.session_access_key_id, s.role_arn, s.session_name, s.session_arn,
       s.issued_by_event, s.issued_to_principal, s.issued_to_ip, s.issued_to_user_agent,
       s.caller_access_key_id, s.expires_at,
       coalesce(a.cloudtrail_events, 0) AS cloudtrail_events,
       coalesce(a.access_log_requests, 0) AS access_log_requests,
       coalesce(a.buckets, 0) AS buckets,
       coalesce(a.bucket_names, []) AS bucket_names,
       coalesce(a.used_from_ips, []) AS used_from_ips,
       list_filter(coalesce(a.used_from_ips, []), lambda ip: ip IS DISTINCT FROM s.issued_to_ip) AS used_from_other_ips,
       a.first_used, a.last_used
FROM sessions s
LEFT JOIN activity a USING (session_access_key_id)
ORDER BY s.issued_at, s.session_access_key_id
