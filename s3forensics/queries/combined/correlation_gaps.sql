-- title: Access log and CloudTrail correlation by bucket
-- kind: hunt
-- source: both
-- mitre: [T1562.008]
-- description: >
--   How many S3 requests appear in both sources, only in the access logs, or only in CloudTrail,
--   per bucket and reason (from s3_request_correlation). Expected one-sided rows (lifecycle
--   actions, failed authentication, buckets without data events) are named as such; many
--   unexplained one-sided requests mean missing evidence, a trail or logging change, or
--   records that were removed.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH c AS (
    SELECT *, coalesce(access_log_time, cloudtrail_time) AS event_time
    FROM s3_request_correlation
)
SELECT bucket, match_status,
       coalesce(reason, CASE WHEN match_status = 'both' THEN 'matched' END) AS reason,
       count(*) AS requests,
       list_slice(list_sort(list(DISTINCT coalesce(operation, event_name))), 1, 10) AS operations,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM c
WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY bucket, match_status, 3
ORDER BY bucket NULLS LAST, CASE match_status WHEN 'both' THEN 1 WHEN 'access_log_only' THEN 2 ELSE 3 END,
         reason
