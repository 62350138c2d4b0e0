-- evidence_coverage for Athena (Trino SQL), written by hand: its translation would list the
-- span's hours with one sequence(), and Trino's holds at most 10,000 values (416 days of hours);
-- it would also step past the last record by a microsecond, finer than Athena's milliseconds.
-- Here the hours are numbered in blocks of 10,000, so a span of any length fits. Same rows
-- as the DuckDB query (tests read this file back into DuckDB with sqlglot and compare);
-- parameters are :start and :end.
WITH records AS (
    SELECT 's3-access' AS source, event_time, evidence_id FROM s3_access_logs
    WHERE (:start IS NULL OR event_time >= :start) AND (:end IS NULL OR event_time < :end)
    UNION ALL
    SELECT 'cloudtrail', event_time, evidence_id FROM cloudtrail_events
    WHERE (:start IS NULL OR event_time >= :start) AND (:end IS NULL OR event_time < :end)
),
sources AS (
    SELECT 's3-access' AS source WHERE EXISTS (SELECT 1 FROM s3_access_logs)
    UNION ALL
    SELECT 'cloudtrail' WHERE EXISTS (SELECT 1 FROM cloudtrail_events)
),
span AS (
    -- Hours from the first hour of the window (or of the records) up to the window's end
    -- (excluded), or up to the last record (included) when no end is given.
    SELECT date_trunc('hour', coalesce(:start, min(event_time))) AS first_hour,
           coalesce(:end, max(event_time)) AS span_end,
           :end IS NULL AS end_included
    FROM records
),
offsets AS (
    SELECT span.*, date_diff('hour', first_hour, span_end) AS last_hour_no FROM span
),
candidate_hours AS (
    -- Hour numbers counted in blocks of 10,000 (the most a Trino sequence() holds), so a
    -- span of any length is listed.
    SELECT s.source, b.k * 10000 + i.n AS hour_no,
           date_add('hour', b.k * 10000 + i.n, o.first_hour) AS hour,
           o.last_hour_no, o.span_end, o.end_included
    FROM sources s
    CROSS JOIN offsets o
    -- sequence() fails when its end is before its start: an empty span gives no blocks instead.
    CROSS JOIN UNNEST(CASE WHEN o.last_hour_no >= 0
        THEN sequence(0, CAST(floor(o.last_hour_no / 10000.0) AS BIGINT)) END) AS b(k)
    CROSS JOIN UNNEST(sequence(0, 9999)) AS i(n)
),
hours AS (
    SELECT source, hour FROM candidate_hours
    WHERE hour_no <= last_hour_no AND (hour < span_end OR (end_included AND hour <= span_end))
),
per_hour AS (
    SELECT source, date_trunc('hour', event_time) AS hour,
           count(DISTINCT evidence_id) AS objects, count(*) AS records
    FROM records
    GROUP BY 1, 2
)
SELECT h.source, h.hour,
       coalesce(p.objects, 0) AS objects,
       coalesce(p.records, 0) AS records,
       p.records IS NULL AS is_gap
FROM hours h
LEFT JOIN per_hour p ON p.source = h.source AND p.hour = h.hour
ORDER BY CASE h.source WHEN 's3-access' THEN 1 ELSE 2 END, h.hour
