-- CloudTrail DeleteObjects events (which name no keys) with the keys from the access log's
-- per-key BATCH.DELETE.OBJECT lines of the same request.
CREATE OR REPLACE VIEW batch_delete_keys AS
SELECT c.event_time, c.event_id, c.request_id, c.principal, c.actor, c.access_key_id, c.source_ip,
       c.user_agent, c.bucket, c.evidence_id, c.record_no,
       count(a.object_key) AS keys_deleted,
       list(a.object_key ORDER BY a.line_no) FILTER (WHERE a.object_key IS NOT NULL) AS object_keys,
       count(a.object_key) > 0 AS keys_from_access_log
FROM trail_events c
LEFT JOIN access_requests a
  ON a.request_id = c.request_id AND a.operation = 'BATCH.DELETE.OBJECT'
WHERE c.event_name = 'DeleteObjects'
GROUP BY ALL;
