-- evidence_coverage for Athena (Trino SQL), written by hand: its translation would list the
-- span's hours with one sequence(), and Trino's holds at most 10,000 values (416 days of hours);
-- it would also step past the last record by a microsecond, finer than Athena's milliseconds.
-- Here the span's days are listed (27 years fit) and each day split into its 24 hours. Same rows
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
candidate_hours AS (
    SELECT s.source, date_add('hour', h.n, d.day) AS hour, span.first_hour, span.span_end,
           span.end_included
    FROM sources s
    CROSS JOIN span
    -- sequence() fails when its end is before its start: an empty span gives no days instead.
    CROSS JOIN UNNEST(CASE WHEN span.first_hour <= span.span_end
        THEN sequence(date_trunc('day', span.first_hour), date_trunc('day', span.span_end),
                      INTERVAL '1' DAY) END) AS d(day)
    CROSS JOIN UNNEST(sequence(0, 23)) AS h(n)
),
hours AS (
    SELECT source, hour FROM candidate_hours
    WHERE hour >= first_hour AND (hour < span_end OR (end_included AND hour <= span_end))
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
