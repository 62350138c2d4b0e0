-- title: Case overview
-- kind: summary
-- source: both
-- description: >
--   What the case holds, per source: evidence objects (one per name; identical bytes stored
--   once), records, rejected lines, duplicate CloudTrail events skipped, the event-time span, and
--   how many buckets, principals and source addresses the records name. Object, reject and duplicate counts describe the whole case;
--   records, span and distinct counts follow the time window. Read this first: a source with no
--   records, or a span shorter than the incident, means evidence is missing.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
WITH records AS (
    SELECT 's3-access' AS source, count(*) AS rows, min(event_time) AS first_event,
           max(event_time) AS last_event, count(DISTINCT bucket) AS buckets,
           count(DISTINCT principal) AS principals, count(DISTINCT remote_ip) AS source_ips
    FROM access_requests
    WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
    UNION ALL
    SELECT 'cloudtrail', count(*), min(event_time), max(event_time), count(DISTINCT bucket),
           count(DISTINCT principal), count(DISTINCT source_ip)
    FROM trail_events
    WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
),
objects AS (
    -- Objects identical to another share its copy: their bytes are stored once.
    SELECT kind AS source, count(*) AS objects, sum(rejects)::BIGINT AS rejects,
           sum(duplicates)::BIGINT AS duplicates,
           coalesce(sum(size) FILTER (WHERE identical_to IS NULL), 0)::BIGINT AS bytes_stored
    FROM evidence
    GROUP BY kind
),
-- Both log sources always appear, so a missing one shows as zero rather than vanishing.
sources AS (
    SELECT 's3-access' AS source UNION SELECT 'cloudtrail' UNION SELECT kind FROM evidence
)
SELECT s.source,
       coalesce(o.objects, 0) AS objects,
       coalesce(o.bytes_stored, 0) AS bytes_stored,
       coalesce(r.rows, 0) AS rows,
       coalesce(o.rejects, 0) AS rejects,
       coalesce(o.duplicates, 0) AS duplicates,
       r.first_event,
       r.last_event,
       coalesce(r.buckets, 0) AS buckets,
       coalesce(r.principals, 0) AS principals,
       coalesce(r.source_ips, 0) AS source_ips
FROM sources s
LEFT JOIN objects o USING (source)
LEFT JOIN records r USING (source)
ORDER BY CASE s.source WHEN 's3-access' THEN 1 WHEN 'cloudtrail' THEN 2 ELSE 3 END, s.source
