-- When each source IP, actor and user agent first touched each bucket (either source), next to
-- the bucket's own first logged request: the newcomers a first-seen hunt is after.
CREATE OR REPLACE VIEW bucket_first_seen AS
WITH seen AS (
    SELECT bucket, source, event_time, source_ip, actor,
           -- CloudTrail wraps some agents in brackets; strip them so both sources agree.
           CASE WHEN user_agent LIKE '[%]' THEN substr(user_agent, 2, length(user_agent) - 2)
                ELSE user_agent END AS user_agent
    FROM actor_activity
    WHERE bucket IS NOT NULL
),
bucket_first AS (
    SELECT bucket, min(event_time) AS bucket_first_seen FROM seen GROUP BY bucket
),
values_seen AS (
    SELECT bucket, source, event_time, 'ip' AS dimension, source_ip AS value FROM seen
    UNION ALL SELECT bucket, source, event_time, 'actor', actor FROM seen
    UNION ALL SELECT bucket, source, event_time, 'user_agent', user_agent FROM seen
),
firsts AS (
    SELECT dimension, bucket, value,
           min(event_time) AS first_seen,
           first(source ORDER BY event_time, source <> 's3-access') AS first_source,
           max(event_time) AS last_seen,
           count(*) AS events
    FROM values_seen
    WHERE value IS NOT NULL
    GROUP BY dimension, bucket, value
)
SELECT f.dimension, f.bucket, f.value, f.first_seen, f.first_source,
       round_places((epoch(f.first_seen) - epoch(b.bucket_first_seen)) / 3600.0, 2) AS hours_after_bucket_first,
       b.bucket_first_seen, f.last_seen, f.events
FROM firsts f JOIN bucket_first b USING (bucket);
