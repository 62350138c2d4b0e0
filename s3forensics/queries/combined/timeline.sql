-- title: Timeline of both sources
-- kind: hunt
-- source: both
-- description: >
--   Access log requests and CloudTrail events in one time-ordered list with shared columns
--   (event_time, source, actor, source_ip, operation, resource, outcome, bytes, detail),
--   optionally narrowed to one actor or address. Ties are broken by source and position in the
--   evidence object, so the order is stable.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   actor: {type: string, default: null, description: "Only rows of this principal ARN (exact); null for all"}
--   source_ip: {type: string, default: null, description: "Only rows from this address (exact); null for all"}
--   limit: {type: integer, default: 10000, description: "Most rows to return"}
-- ---
SELECT *
FROM timeline
WHERE ($actor IS NULL OR actor = $actor)
  AND ($source_ip IS NULL OR source_ip = $source_ip)
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
ORDER BY event_time, source <> 's3-access', position, evidence_id
LIMIT $limit
