-- One ordered view of both sources with shared columns.
CREATE OR REPLACE VIEW timeline AS
SELECT event_time, 's3-access' AS source, principal AS actor, remote_ip AS source_ip,
       operation, bucket || coalesce('/' || object_key, '') AS resource,
       CASE WHEN succeeded THEN 'success' ELSE coalesce(error_code, 'HTTP ' || http_status) END AS outcome,
       bytes_sent AS bytes,
       coalesce(request_uri, operation) AS detail,
       request_id, evidence_id, line_no AS position
FROM access_requests
UNION ALL
SELECT event_time, 'cloudtrail', principal, source_ip,
       event_name, coalesce(bucket || coalesce('/' || object_key, ''), event_source),
       CASE WHEN succeeded THEN 'success' ELSE error_code END,
       bytes_out,
       coalesce(left(request_parameters, 500), event_name),
       request_id, evidence_id, record_no
FROM trail_events;
