-- title: Lifecycle actions per bucket and day
-- kind: hunt
-- source: s3-access
-- mitre: [T1485]
-- description: >
--   What S3 lifecycle rules did, per bucket, UTC day and action: expirations, delete markers,
--   transitions to other storage classes and aborted multipart uploads, with object counts and
--   sizes. These are S3's own actions, logged only in access logs; a sudden expiry wave after a
--   lifecycle change is evidence destruction by configuration.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
SELECT bucket,
       CAST(timezone('UTC', event_time) AS DATE) AS day,
       operation,
       count(*) AS actions,
       count(DISTINCT object_key) AS objects,
       coalesce(sum(object_size), 0)::BIGINT AS bytes,
       list_slice(coalesce(list_sort(list(DISTINCT object_key) FILTER (WHERE object_key IS NOT NULL)), []),
                  1, 5) AS sample_keys,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM access_requests
WHERE (operation LIKE 'S3.EXPIRE.%' OR operation LIKE 'S3.TRANSITION%'
       OR operation IN ('S3.CREATE.DELETEMARKER', 'S3.DELETE.UPLOAD'))
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY bucket, CAST(timezone('UTC', event_time) AS DATE), operation
ORDER BY bucket, day, operation
