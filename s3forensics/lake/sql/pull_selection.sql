-- title: The rows a lake pull selects
-- description: >
--   Fills temporary tables on a lake connection: _seed_sal and _seed_ct (rows matched in the
--   window and buckets), _keys and _session_ct (the same session), _requests, _sel_sal and _sel_ct
--   (the same request, in the window widened by request_skew_seconds()) and _objects (the
--   evidence objects of the selected rows). See lake/pull.py for what each step means.
-- params:
--   ips: {type: "string[]", default: [], description: "Source addresses (remote_ip, source_ip)"}
--   principals: {type: "string[]", default: [], description: "Principals or actors (a role matches its sessions)"}
--   access_keys: {type: "string[]", default: [], description: "Access key ids"}
--   buckets: {type: "string[]", default: [], description: "Only rows about these buckets; empty for all"}
--   has_entity: {type: boolean, default: false, description: "True when an IP, principal or access key is given; otherwise every row of the buckets and window matches"}
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for no bound"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for no bound"}
-- ---
-- The lists are cast where they are used: an empty Python list binds as INTEGER[].
CREATE OR REPLACE TEMP TABLE _seed_sal AS
SELECT evidence_id, line_no, request_id FROM access_log_identity
WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
  AND (len(CAST($buckets AS VARCHAR[])) = 0 OR list_contains(CAST($buckets AS VARCHAR[]), bucket))
  AND (NOT $has_entity
       OR list_contains(CAST($ips AS VARCHAR[]), remote_ip)
       OR list_contains(CAST($principals AS VARCHAR[]), principal)
       OR list_contains(CAST($principals AS VARCHAR[]), actor)
       OR list_contains(CAST($access_keys AS VARCHAR[]), access_key_id));

CREATE OR REPLACE TEMP TABLE _seed_ct AS
SELECT evidence_id, record_no, request_id, access_key_id FROM trail_events
WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
  AND (len(CAST($buckets AS VARCHAR[])) = 0 OR list_contains(CAST($buckets AS VARCHAR[]), bucket))
  AND (NOT $has_entity
       OR list_contains(CAST($ips AS VARCHAR[]), source_ip)
       OR list_contains(CAST($principals AS VARCHAR[]), principal)
       OR list_contains(CAST($principals AS VARCHAR[]), actor)
       OR list_contains(CAST($access_keys AS VARCHAR[]), access_key_id));

CREATE OR REPLACE TEMP TABLE _keys AS
SELECT DISTINCT access_key_id FROM _seed_ct WHERE access_key_id IS NOT NULL
UNION SELECT unnest(CAST($access_keys AS VARCHAR[]));

CREATE OR REPLACE TEMP TABLE _session_ct AS
SELECT evidence_id, record_no, request_id FROM trail_events
WHERE ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
  AND access_key_id IN (SELECT access_key_id FROM _keys)
UNION
SELECT c.evidence_id, c.record_no, c.request_id
FROM session_origins o JOIN trail_events c USING (evidence_id, record_no)
WHERE o.session_access_key_id IN (SELECT access_key_id FROM _keys);

CREATE OR REPLACE TEMP TABLE _requests AS
SELECT request_id FROM _seed_sal WHERE request_id IS NOT NULL
UNION SELECT request_id FROM _seed_ct WHERE request_id IS NOT NULL
UNION SELECT request_id FROM _session_ct WHERE request_id IS NOT NULL;

-- The same request, within the window widened by the skew the correlation views tolerate.
CREATE OR REPLACE TEMP TABLE _sel_sal AS
SELECT evidence_id, line_no FROM _seed_sal
UNION
SELECT evidence_id, line_no FROM s3_access_logs
WHERE request_id IN (SELECT request_id FROM _requests)
  AND ($start IS NULL OR event_time >= CAST($start AS TIMESTAMPTZ) - to_seconds(request_skew_seconds()))
  AND ($end IS NULL OR event_time < CAST($end AS TIMESTAMPTZ) + to_seconds(request_skew_seconds()));

CREATE OR REPLACE TEMP TABLE _sel_ct AS
SELECT evidence_id, record_no FROM _seed_ct
UNION SELECT evidence_id, record_no FROM _session_ct
UNION
SELECT evidence_id, record_no FROM cloudtrail_events
WHERE request_id IN (SELECT request_id FROM _requests)
  AND ($start IS NULL OR event_time >= CAST($start AS TIMESTAMPTZ) - to_seconds(request_skew_seconds()))
  AND ($end IS NULL OR event_time < CAST($end AS TIMESTAMPTZ) + to_seconds(request_skew_seconds()));

CREATE OR REPLACE TEMP TABLE _objects AS
SELECT DISTINCT evidence_id FROM _sel_sal UNION SELECT DISTINCT evidence_id FROM _sel_ct;
