-- title: Requests in the access logs that change bucket settings
-- kind: summary
-- source: s3-access
-- description: >
--   Successful or not, every access-log request that puts or deletes a bucket's settings (policy,
--   ACL, versioning, lifecycle, logging, encryption, replication...) rather than an object,
--   counted per operation. The access log records no request parameters, so this says that a
--   setting was changed, not how: bucket_config_changes (CloudTrail) says how. What the notebooks
--   show when the case holds no CloudTrail.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
SELECT operation, count(*) AS requests
FROM access_requests
WHERE regexp_matches(operation, '^REST\.(PUT|DELETE)\.')
  AND operation NOT IN ('REST.PUT.OBJECT', 'REST.PUT.PART', 'REST.DELETE.OBJECT', 'REST.DELETE.UPLOAD',
                        'REST.PUT.OBJECT_TAGGING', 'REST.DELETE.OBJECT_TAGGING',
                        'REST.PUT.OBJECT_RETENTION', 'REST.PUT.OBJECT_LEGAL_HOLD', 'REST.PUT.ACL')
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY operation
ORDER BY requests DESC, operation
