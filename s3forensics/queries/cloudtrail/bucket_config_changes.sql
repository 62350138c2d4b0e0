-- title: Bucket configuration changes
-- kind: hunt
-- source: cloudtrail
-- mitre: [T1562.008, T1485, T1486, T1537]
-- description: >
--   Every Put* and Delete* call that changes a bucket's configuration (policy, ACL, public
--   access block, versioning, lifecycle, logging, encryption, replication, website, CORS,
--   ownership controls, object lock, tagging, notifications...) and the account-level public
--   access block, with who, from where and the request parameters. Failed attempts are listed
--   only when asked for.
-- caveats:
--   - missing: cloudtrail
--     stand_in: bucket_settings_requests
--     text: >
--       The access logs do show {requests} request(s) that change bucket settings: {listing}
--       (without their parameters).
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   include_failed: {type: boolean, default: false, description: "Also list attempts that failed (e.g. AccessDenied)"}
-- ---
SELECT event_time, event_name,
       CASE
           WHEN event_name LIKE '%AccountPublicAccessBlock' THEN 'account public access block'
           WHEN event_name LIKE '%PublicAccessBlock' THEN 'public access block'
           WHEN event_name LIKE '%BucketPolicy' THEN 'policy'
           WHEN event_name LIKE '%BucketAcl' THEN 'ACL'
           WHEN event_name LIKE '%Versioning' THEN 'versioning'
           WHEN event_name LIKE '%Lifecycle%' THEN 'lifecycle'
           WHEN event_name LIKE '%Logging' THEN 'logging'
           WHEN event_name LIKE '%Encryption' THEN 'encryption'
           WHEN event_name LIKE '%Replication' THEN 'replication'
           WHEN event_name LIKE '%Website' THEN 'website'
           WHEN event_name LIKE '%Cors' THEN 'CORS'
           WHEN event_name LIKE '%OwnershipControls' THEN 'ownership controls'
           WHEN event_name LIKE '%ObjectLock%' THEN 'object lock'
           WHEN event_name LIKE '%Tagging' THEN 'tagging'
           WHEN event_name LIKE '%Notification%' THEN 'notifications'
           ELSE 'other'
       END AS setting,
       bucket, actor, principal, source_ip, access_key_id, user_agent,
       CASE WHEN succeeded THEN 'success' ELSE error_code END AS outcome,
       request_parameters, event_id, evidence_id, record_no
FROM trail_events
WHERE event_source = 's3.amazonaws.com'
  AND (regexp_matches(event_name, '^(Put|Delete)Bucket.+')
       OR event_name IN ('PutObjectLockConfiguration', 'PutAccelerateConfiguration',
                         'PutAccountPublicAccessBlock', 'DeleteAccountPublicAccessBlock',
                         'PutPublicAccessBlock', 'DeletePublicAccessBlock'))
  AND ($include_failed OR succeeded)
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
ORDER BY event_time, evidence_id, record_no
