-- title: Access log records with odd values, by evidence object and field
-- kind: summary
-- source: s3-access
-- description: >
--   Lines that are records but hold a value that does not fit its field (kept as logged, its
--   typed column NULL where it cannot be typed), per evidence object and field: how many, the
--   first line, one anomaly as the parser wrote it, and the request ids of the first few. A field
--   slid out of place, a record written by hand, or client text shaped like another record all
--   show here; a handful of odd values in AWS's own logs is rare. With a window, records outside
--   it are left out; records whose time is the odd value are always shown.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH odd AS (
    -- One row per anomaly: a record's anomalies are '; '-separated, and no value they quote
    -- can hold '; ' (the fields they quote are space-free tokens).
    SELECT evidence_id, line_no, request_id, event_time,
           unnest(string_split(anomalies, '; ')) AS anomaly
    FROM s3_access_logs
    WHERE anomalies IS NOT NULL
      AND ($start IS NULL OR event_time IS NULL OR event_time >= $start)
      AND ($end IS NULL OR event_time IS NULL OR event_time < $end)
)
SELECT o.evidence_id, e.source AS evidence_source,
       coalesce(nullif(regexp_extract(o.anomaly, '^field [0-9]+ \(([a-z_]+)\)', 1), ''), 'other')
           AS field,
       count(*) AS records,
       min(o.line_no) AS first_line,
       left(first(o.anomaly ORDER BY o.line_no, o.anomaly), 1000) AS sample_anomaly,
       list_slice(list(o.request_id ORDER BY o.line_no, o.request_id), 1, 5) AS first_request_ids,
       min(o.event_time) AS first_event, max(o.event_time) AS last_event
FROM odd o
LEFT JOIN evidence e USING (evidence_id)
GROUP BY o.evidence_id, e.source, field
ORDER BY o.evidence_id, first_line, field
