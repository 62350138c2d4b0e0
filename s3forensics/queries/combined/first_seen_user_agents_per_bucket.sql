-- title: First appearance of each user agent per bucket
-- kind: hunt
-- source: both
-- mitre: [T1078.004, T1530, T1119]
-- description: >
--   For each bucket, when each user agent was first seen (either source; the brackets CloudTrail
--   puts around some agents removed) and how many hours after the bucket's first logged request.
--   A new tool (curl, rclone, an SDK) appearing late in a case that otherwise shows a stable set
--   is a newcomer to explain. First appearances are computed over the
--   whole case; the window selects which first appearances to show.
-- params:
--   start: {type: timestamp, default: null, description: "Show first appearances from this time (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Show first appearances before this time (exclusive, UTC)"}
--   min_hours_after: {type: float, default: 0, description: "Only values first seen at least this many hours after the bucket's first request"}
-- ---
SELECT bucket, value AS user_agent, first_seen, first_source, hours_after_bucket_first,
       bucket_first_seen, last_seen, events
FROM bucket_first_seen
WHERE dimension = 'user_agent'
  AND (epoch(first_seen) - epoch(bucket_first_seen)) / 3600.0 >= $min_hours_after
  AND ($start IS NULL OR first_seen >= $start) AND ($end IS NULL OR first_seen < $end)
ORDER BY bucket, first_seen, user_agent
