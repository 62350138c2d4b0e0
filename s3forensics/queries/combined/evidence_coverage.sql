-- title: Evidence coverage per hour and gaps
-- kind: summary
-- source: both
-- description: >
--   For each source with records in the case, every UTC hour of the span (the window when one is
--   given, else first to last record of either source): how many evidence objects and records
--   cover it. Hours with no records are flagged as gaps; a gap during the incident means logs
--   were not delivered, not acquired, or logging was off, and absence of activity there proves
--   nothing.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the first record of the case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the last record of the case"}
-- ---
WITH records AS (
    SELECT 's3-access' AS source, event_time, evidence_id FROM s3_access_logs
    WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
    UNION ALL
    SELECT 'cloudtrail', event_time, evidence_id FROM cloudtrail_events
    WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
sources AS (
    SELECT 's3-access' AS source WHERE EXISTS (SELECT 1 FROM s3_access_logs)
    UNION ALL
    SELECT 'cloudtrail' WHERE EXISTS (SELECT 1 FROM cloudtrail_events)
),
span AS (
    SELECT time_bucket(INTERVAL 1 hour, coalesce($start, min(event_time))) AS first_hour,
           coalesce($end, max(event_time) + INTERVAL 1 microsecond) AS span_end
    FROM records
),
hours AS (
    SELECT s.source, unnest(range(span.first_hour, span.span_end, INTERVAL 1 hour)) AS hour
    FROM sources s, span
),
per_hour AS (
    SELECT source, time_bucket(INTERVAL 1 hour, event_time) AS hour,
           count(DISTINCT evidence_id) AS objects, count(*) AS records
    FROM records
    GROUP BY 1, 2
)
SELECT h.source, h.hour,
       coalesce(p.objects, 0) AS objects,
       coalesce(p.records, 0) AS records,
       p.records IS NULL AS is_gap
FROM hours h
LEFT JOIN per_hour p USING (source, hour)
ORDER BY CASE h.source WHEN 's3-access' THEN 1 ELSE 2 END, h.hour
