-- title: CloudTrail logging stopped, deleted or narrowed
-- kind: detection
-- severity: high
-- mitre: [T1562.008]
-- source: cloudtrail
-- description: >
--   StopLogging, DeleteTrail, UpdateTrail, event selector changes and event data store changes,
--   including failed attempts: each can remove the S3 data events an investigation depends on.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
-- ---
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, coalesce(json_extract_string(request_parameters, '$.name'),
                               json_extract_string(request_parameters, '$.trailName')) AS bucket,
       NULL::VARCHAR AS object_key, 1::BIGINT AS events,
       event_name || CASE WHEN succeeded THEN '' ELSE ' (failed: ' || error_code || ')' END AS detail
FROM trail_events
WHERE event_source = 'cloudtrail.amazonaws.com'
  AND event_name IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors',
                     'PutInsightSelectors', 'DeleteEventDataStore', 'StopEventDataStoreIngestion',
                     'UpdateEventDataStore')
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
ORDER BY first_seen, principal
