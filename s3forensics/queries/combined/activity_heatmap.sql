-- title: Activity heatmap (day by hour of day)
-- kind: summary
-- source: both
-- description: >
--   Requests per calendar day and hour of day in a chosen time zone, to see working patterns and
--   activity at odd hours. A request present in both sources is counted once in `requests`; the
--   per-source columns show raw counts. Only day and hour cells with activity are returned.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   time_zone: {type: string, default: UTC, description: "IANA time zone the days and hours are counted in, e.g. Europe/Berlin"}
-- ---
WITH p AS (
    -- The zone as the engine's list spells it: names are matched without regard to case.
    SELECT CASE WHEN z.name IS NOT NULL THEN z.name
                ELSE error('time_zone ' || coalesce('''' || $time_zone || '''', 'NULL')
                           || ' is not a known IANA time zone name (e.g. UTC, Europe/Berlin)') END AS tz
    FROM (SELECT min(name) AS name FROM pg_timezone_names() WHERE lower(name) = lower($time_zone)) z
),
localised AS (
    SELECT timezone(p.tz, a.event_time) AS local_time, a.source, a.also_in_access_log
    FROM actor_activity a, p
    WHERE ($start IS NULL OR a.event_time >= $start) AND ($end IS NULL OR a.event_time < $end)
)
SELECT CAST(local_time AS DATE) AS day,
       dayname(local_time) AS weekday,
       hour(local_time) AS hour,
       count(*) FILTER (WHERE NOT coalesce(also_in_access_log, false)) AS requests,
       count(*) FILTER (WHERE source = 's3-access') AS access_log_requests,
       count(*) FILTER (WHERE source = 'cloudtrail') AS cloudtrail_events
FROM localised
GROUP BY 1, 2, 3
ORDER BY day, hour
