-- title: Object reads outside business hours
-- kind: hunt
-- source: both
-- mitre: [T1530]
-- description: >
--   Successful object reads outside business hours in a chosen time zone, one row per actor and
--   local day, with how many objects, bytes and addresses. `regular_days` counts the days that
--   actor read off-hours: a nightly job shows up on every day with similar volumes, an intruder
--   on one or two. Business hours may wrap midnight (e.g. 22 to 6 for a night shift). Weekend
--   reads inside business hours are reported only when include_weekends is true. AWS services
--   acting on their own are left out; a read present in both sources is counted once.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   business_start_hour: {type: integer, default: 8, description: "First hour of the business day (0-23, local time)"}
--   business_end_hour: {type: integer, default: 18, description: "Hour the business day ends, exclusive (1-24, local time)"}
--   time_zone: {type: string, default: UTC, description: "IANA time zone of the business hours, e.g. Europe/Berlin"}
--   include_weekends: {type: boolean, default: false, description: "Treat Saturday and Sunday as off-hours all day"}
-- ---
WITH p AS (
    -- The zone as the engine's list spells it: names are matched without regard to case.
    SELECT CASE WHEN z.name IS NOT NULL THEN z.name
                ELSE error('time_zone ' || coalesce('''' || $time_zone || '''', 'NULL')
                           || ' is not a known IANA time zone name (e.g. UTC, Europe/Berlin)') END AS tz,
           CASE WHEN $business_start_hour BETWEEN 0 AND 23 AND $business_end_hour BETWEEN 1 AND 24
                     AND $business_start_hour <> $business_end_hour
                THEN $business_start_hour
                ELSE error('business_start_hour must be 0-23 and business_end_hour 1-24, and they must differ') END AS bs,
           $business_end_hour AS be
    FROM (SELECT min(name) AS name FROM pg_timezone_names() WHERE lower(name) = lower($time_zone)) z
),
reads AS (
    SELECT a.*, timezone(p.tz, a.event_time) AS local_time, p.bs, p.be
    FROM actor_activity a, p
    WHERE a.succeeded AND NOT coalesce(a.also_in_access_log, false) AND NOT coalesce(a.is_service, false)
      AND a.operation IN ('REST.GET.OBJECT', 'WEBSITE.GET.OBJECT', 'SOAP.GetObject',
                          'SOAP.GetObjectExtended', 'REST.COPY.OBJECT_GET', 'GetObject')
      AND ($start IS NULL OR a.event_time >= $start) AND ($end IS NULL OR a.event_time < $end)
),
off_hours AS (
    SELECT * FROM reads
    WHERE NOT (CASE WHEN bs < be THEN hour(local_time) >= bs AND hour(local_time) < be
                    ELSE hour(local_time) >= bs OR hour(local_time) < be END)
       OR ($include_weekends AND isodow(local_time) >= 6)
)
SELECT actor,
       CAST(local_time AS DATE) AS day,
       dayname(local_time) AS weekday,
       count(*) AS reads,
       count(DISTINCT bucket || '/' || object_key) AS objects,
       coalesce(sum(bytes_out), 0)::BIGINT AS bytes_out,
       list_sort(list(DISTINCT bucket)) AS buckets,
       coalesce(list_sort(list(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL)), []) AS source_ips,
       strftime(min(local_time), '%H:%M') AS first_local_time,
       strftime(max(local_time), '%H:%M') AS last_local_time,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen,
       count(*) OVER (PARTITION BY actor) AS regular_days
FROM off_hours
GROUP BY actor, CAST(local_time AS DATE), dayname(local_time)
ORDER BY actor, day
