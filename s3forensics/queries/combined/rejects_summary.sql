-- title: Rejected lines and records by evidence object and reason
-- kind: summary
-- source: both
-- description: >
--   Input that did not become rows, per evidence object and reason: how many, where the first
--   one is (line or record number) and what it looked like (its first 1000 characters; the
--   rejects table holds it whole). With a window, objects whose records all fall outside it are
--   left out; objects that yielded no records at all are always shown.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH spans AS (
    SELECT evidence_id, min(event_time) AS first_event, max(event_time) AS last_event
    FROM (
        SELECT evidence_id, event_time FROM s3_access_logs
        WHERE evidence_id IN (SELECT evidence_id FROM rejects)
        UNION ALL
        SELECT evidence_id, event_time FROM cloudtrail_events
        WHERE evidence_id IN (SELECT evidence_id FROM rejects)
    )
    GROUP BY evidence_id
)
SELECT r.evidence_id, e.kind, e.source AS evidence_source, r.reason,
       count(*) AS rejects,
       min(r.line_no) AS first_line,
       min(r.record_no) AS first_record,
       left(first(r.raw ORDER BY r.line_no, r.record_no, r.raw), 1000) AS sample_raw,
       s.first_event, s.last_event
FROM rejects r
LEFT JOIN evidence e USING (evidence_id)
LEFT JOIN spans s USING (evidence_id)
WHERE ($start IS NULL OR s.last_event IS NULL OR s.last_event >= $start)
  AND ($end IS NULL OR s.first_event IS NULL OR s.first_event < $end)
GROUP BY r.evidence_id, e.kind, e.source, r.reason, s.first_event, s.last_event
ORDER BY r.evidence_id, first_line NULLS LAST, first_record NULLS LAST, r.reason
