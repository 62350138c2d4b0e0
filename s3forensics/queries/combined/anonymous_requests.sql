-- title: Anonymous requests per bucket and operation
-- kind: hunt
-- source: both
-- mitre: [T1530, T1619]
-- description: >
--   Requests made without credentials, per source, bucket and operation, with successes,
--   failures, addresses, bytes and sample keys. Successful anonymous reads mean the bucket or
--   objects are public; a burst of failed ones is someone testing whether they are.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
SELECT bucket, source, operation,
       count(*) AS requests,
       count(*) FILTER (WHERE succeeded) AS succeeded,
       count(*) FILTER (WHERE NOT succeeded) AS failed,
       count(DISTINCT object_key) AS objects,
       count(DISTINCT source_ip) AS source_ips,
       coalesce(sum(bytes_out), 0)::BIGINT AS bytes_out,
       list_slice(coalesce(list_sort(list(DISTINCT object_key) FILTER (WHERE object_key IS NOT NULL)), []),
                  1, 5) AS sample_keys,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM actor_activity
WHERE is_anonymous
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY bucket, source, operation
ORDER BY bucket NULLS LAST, source, requests DESC, operation
