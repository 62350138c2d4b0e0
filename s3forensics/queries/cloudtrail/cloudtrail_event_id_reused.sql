-- title: CloudTrail records that reuse an eventID with other content
-- kind: detection
-- severity: high
-- mitre: [T1565.001, T1070]
-- source: cloudtrail
-- description: >
--   eventIDs held by more than one record whose contents differ (who, from where, when, what,
--   or the request and response). CloudTrail gives every event its own eventID and may deliver an
--   event twice, but a repeat has the same content, and is loaded once; records that share an
--   eventID and disagree were altered or made up, for example log files written into the trail's
--   bucket to bury or contradict the real ones. Both records are kept, so neither hides the
--   other; the detail names the files holding them. Check them with verify-trail (digests).
--   Content is compared in the columns the case keeps: copies differing only in a field no
--   column holds count as repeats.
-- benign:
--   - "Hand-edited or documentation sample records loaded as evidence (they often reuse one
--     eventID): the detail names their files."
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC)"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC)"}
-- ---
WITH reused AS (
    -- Every copy counts, wherever its time falls; the window picks eventIDs with a copy in it.
    SELECT event_id
    FROM cloudtrail_events
    WHERE event_id IS NOT NULL
    GROUP BY event_id
    HAVING count(*) > 1
       AND ($start IS NULL OR max(event_time) >= $start) AND ($end IS NULL OR min(event_time) < $end)
),
copies AS (
    SELECT t.event_id, t.event_time, t.principal, t.source_ip, t.access_key_id, t.bucket,
           t.event_name, e.source
    FROM trail_events t
    JOIN reused r ON t.event_id = r.event_id
    JOIN evidence e ON t.evidence_id = e.evidence_id
)
SELECT min(event_time) AS first_seen, max(event_time) AS last_seen,
       string_agg(DISTINCT principal, ', ' ORDER BY principal) AS principal,
       string_agg(DISTINCT source_ip, ', ' ORDER BY source_ip) AS source_ip,
       list_sort(list_distinct(list(access_key_id))) AS access_key_id,
       list_sort(list_distinct(list(bucket))) AS bucket, NULL::VARCHAR AS object_key,
       count(*) AS events,
       'eventID ' || event_id || ' held by ' || count(*) || ' different records ('
           || string_agg(DISTINCT event_name, ', ' ORDER BY event_name) || ') in '
           || string_agg(DISTINCT source, ', ' ORDER BY source) AS detail
FROM copies
GROUP BY event_id
ORDER BY first_seen, detail
