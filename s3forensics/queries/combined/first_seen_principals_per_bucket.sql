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
WITH seen AS (
    SELECT bucket, source, event_time, actor AS value
    FROM actor_activity
    WHERE bucket IS NOT NULL
),
bucket_first AS (
    SELECT bucket, min(event_time) AS bucket_first_seen FROM seen GROUP BY bucket
),
firsts AS (
    SELECT bucket, value,
           min(event_time) AS first_seen,
           first(source ORDER BY event_time, source) AS first_source,
           max(event_time) AS last_seen,
           count(*) AS events
    FROM seen
    WHERE value IS NOT NULL
    GROUP BY bucket, value
)
SELECT f.bucket, f.value AS actor, f.first_seen, f.first_source,
       round((epoch(f.first_seen) - epoch(b.bucket_first_seen)) / 3600.0, 2) AS hours_after_bucket_first,
       b.bucket_first_seen, f.last_seen, f.events
FROM firsts f
JOIN bucket_first b USING (bucket)
WHERE (epoch(f.first_seen) - epoch(b.bucket_first_seen)) / 3600.0 >= $min_hours_after
  AND ($start IS NULL OR f.first_seen >= $start) AND ($end IS NULL OR f.first_seen < $end)
ORDER BY f.bucket, f.first_seen, actor
