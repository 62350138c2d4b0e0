-- title: First appearance of each principal per bucket
-- kind: hunt
-- source: both
-- mitre: [T1078.004, T1530]
-- description: >
--   For each bucket, when each principal was first seen (either source; a role's sessions count
--   as the role) and how many hours after the bucket's first logged request. Identities that
--   appear late in a case that otherwise shows a stable set are the newcomers to explain.
--   First appearances are computed over the whole case; the window selects which first
--   appearances to show.
-- params:
--   start: {type: timestamp, default: null, description: "Show first appearances from this time (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Show first appearances before this time (exclusive, UTC)"}
--   min_hours_after: {type: float, default: 0, description: "Only values first seen at least this many hours after the bucket's first request"}
-- ---
SELECT bucket, value AS actor, first_seen, first_source, hours_after_bucket_first,
       bucket_first_seen, last_seen, events
FROM bucket_first_seen
WHERE dimension = 'actor'
  AND (epoch(first_seen) - epoch(bucket_first_seen)) / 3600.0 >= $min_hours_after
  AND ($start IS NULL OR first_seen >= $start) AND ($end IS NULL OR first_seen < $end)
ORDER BY bucket, first_seen, actor
