-- title: CloudTrail logging stopped, deleted or narrowed
-- kind: detection
-- severity: high
-- mitre: [T1562.008]
-- source: cloudtrail
-- description: >
--   Changes that remove the S3 evidence CloudTrail would record, including failed attempts:
--   StopLogging, DeleteTrail, event data stores deleted, stopped or changed; UpdateTrail that
--   moves delivery to another bucket, drops other regions or global services, or switches log
--   file validation off; PutEventSelectors that exclude management events, keep only read or
--   only write events, exclude events with advanced selectors, or drop the S3 data events an
--   earlier selector of the same trail logged; PutInsightSelectors that switch Insights off.
--   Changes that only widen logging are not reported.
-- stratus:
--   - aws.defense-evasion.cloudtrail-stop
--   - aws.defense-evasion.cloudtrail-delete
--   - aws.defense-evasion.cloudtrail-event-selectors
-- benign:
--   - "Cost reviews that exclude noisy read-only data events (for example KMS or S3 reads of a
--     log bucket): reported, with the selector change in the detail, to be confirmed with the
--     change ticket."
--   - "Trails moved to a central logging account's bucket in an organization rollout: the detail
--     names the new bucket."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
-- ---
WITH changes AS (
    SELECT *, coalesce(json_extract_string(request_parameters, '$.name'),
                       json_extract_string(request_parameters, '$.trailName'),
                       json_extract_string(request_parameters, '$.eventDataStore')) AS trail
    FROM trail_events
    WHERE event_source = 'cloudtrail.amazonaws.com'
      AND event_name IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors',
                         'PutInsightSelectors', 'DeleteEventDataStore', 'StopEventDataStoreIngestion',
                         'UpdateEventDataStore')
),
selectors AS (
    SELECT *,
           coalesce(json_extract(request_parameters, '$.eventSelectors[*]'), []) AS basic,
           coalesce(json_extract(request_parameters, '$.advancedEventSelectors[*]'), []) AS advanced,
           request_parameters LIKE '%AWS::S3::Object%' AS logs_s3_data,
           (SELECT arg_max(p.request_parameters LIKE '%AWS::S3::Object%', p.event_time) FROM changes p
            WHERE p.event_name = 'PutEventSelectors' AND p.succeeded AND p.trail = c.trail
              AND p.event_time < c.event_time) AS logged_s3_data_before
    FROM changes c WHERE event_name = 'PutEventSelectors'
),
selector_verdicts AS (
    SELECT evidence_id, record_no,
           nullif(concat_ws('; ',
               CASE WHEN array_length(basic) > 0 AND array_length(list_filter(basic,
                         lambda s: NOT (lower(json_extract_string(s, '$.includeManagementEvents')) = 'false'))) = 0
                         OR array_length(advanced) > 0 AND NOT array_length(list_filter(advanced,
                         lambda s: s::VARCHAR LIKE '%"Management"%')) > 0
                    THEN 'management events excluded' END,
               CASE WHEN array_length(list_filter(basic,
                         lambda s: json_extract_string(s, '$.readWriteType') IN ('ReadOnly', 'WriteOnly'))) > 0
                    THEN 'only ' || list_transform(basic, lambda s: json_extract_string(s, '$.readWriteType'))[1]
                         || ' events kept' END,
               CASE WHEN array_length(list_filter(basic,
                         lambda s: json_array_length(s, '$.excludeManagementEventSources') > 0)) > 0
                    THEN 'management events of some services excluded' END,
               CASE WHEN array_length(list_filter(advanced,
                         lambda s: regexp_matches(s::VARCHAR, '"(NotEquals|NotStartsWith|NotEndsWith)"', 'i'))) > 0
                    THEN 'advanced selectors exclude events' END,
               CASE WHEN logged_s3_data_before AND NOT logs_s3_data THEN 'S3 data events no longer logged' END
           ), '') AS what
    FROM selectors
),
judged AS (
    SELECT c.*,
           CASE c.event_name
               WHEN 'StopLogging' THEN 'logging stopped'
               WHEN 'DeleteTrail' THEN 'trail deleted'
               WHEN 'DeleteEventDataStore' THEN 'event data store deleted'
               WHEN 'StopEventDataStoreIngestion' THEN 'event data store ingestion stopped'
               WHEN 'UpdateEventDataStore' THEN 'event data store changed'
               WHEN 'UpdateTrail' THEN nullif(concat_ws('; ',
                   'logs now delivered to bucket ' || json_extract_string(c.request_parameters, '$.s3BucketName'),
                   CASE WHEN lower(json_extract_string(c.request_parameters, '$.isMultiRegionTrail')) = 'false'
                        THEN 'other regions no longer logged' END,
                   CASE WHEN lower(json_extract_string(c.request_parameters, '$.includeGlobalServiceEvents')) = 'false'
                        THEN 'global service events no longer logged' END,
                   CASE WHEN lower(json_extract_string(c.request_parameters, '$.isOrganizationTrail')) = 'false'
                        THEN 'no longer an organization trail' END,
                   CASE WHEN lower(json_extract_string(c.request_parameters, '$.enableLogFileValidation')) = 'false'
                        THEN 'log file validation off' END), '')
               WHEN 'PutEventSelectors' THEN s.what
               WHEN 'PutInsightSelectors' THEN
                   CASE WHEN coalesce(json_array_length(c.request_parameters, '$.insightSelectors'), 0) = 0
                        THEN 'Insights switched off' END
           END AS what
    FROM changes c LEFT JOIN selector_verdicts s USING (evidence_id, record_no)
    WHERE ($start IS NULL OR c.event_time >= $start) AND ($end IS NULL OR c.event_time < $end)
)
SELECT event_time AS first_seen, event_time AS last_seen, actor AS principal, source_ip,
       access_key_id, trail AS bucket, NULL::VARCHAR AS object_key, 1::BIGINT AS events,
       event_name || ': ' || what || CASE WHEN succeeded THEN '' ELSE ' (failed: ' || error_code || ')' END AS detail
FROM judged
WHERE what IS NOT NULL
ORDER BY first_seen, principal
