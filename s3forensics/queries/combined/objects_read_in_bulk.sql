-- title: Objects read in bulk, far beyond the reader's norm
-- kind: detection
-- severity: high
-- mitre: [T1530]
-- source: both
-- description: >
--   An actor reading many objects or many bytes from one address in one day: several times its
--   usual (median) number of objects, or several times the bytes of its largest other day, or
--   with no other active day to compare. A nightly job that copies
--   the same volume every night is its own baseline and stays quiet; a stolen key draining a
--   bucket does not. Reads are counted once per request even when both sources hold them.
-- benign:
--   - "A nightly export or backup job: its own steady volume is its baseline."
--   - "Macie, AWS Backup and other AWS services reading every object once: AWS services (service-linked roles, aws-internal user agents, service source addresses) are left out."
--   - "Presigned-URL downloads by many consumers: counted per address, so each consumer's few reads stay small."
-- params:
--   start: {type: timestamp, default: null, description: "Report days from this time (UTC); baselines use the whole case"}
--   end: {type: timestamp, default: null, description: "Report days before this time (UTC)"}
--   min_objects: {type: integer, default: 50, description: "Object reads in a day that are worth looking at"}
--   min_bytes: {type: integer, default: 104857600, description: "Or bytes read in a day (default 100 MiB)"}
--   factor: {type: float, default: 3.0, description: "How many times the actor's median other-day object count (or largest other-day bytes) a day must exceed"}
-- ---
WITH reads AS (
    SELECT event_time, actor, source_ip, access_key_id, bucket, object_key, coalesce(bytes_out, 0) AS bytes
    FROM actor_activity
    WHERE succeeded AND NOT is_service AND NOT also_in_access_log
      AND operation IN ('REST.GET.OBJECT', 'SOAP.GetObject', 'REST.COPY.OBJECT_GET', 'GetObject')
),
daily AS (
    SELECT actor, source_ip, date_trunc('day', event_time) AS day,
           min(event_time) AS first_seen, max(event_time) AS last_seen,
           count(*) AS objects, sum(bytes) AS bytes,
           list_sort(list_distinct(list(access_key_id))) AS keys,
           list_sort(list_distinct(list(bucket))) AS buckets
    FROM reads GROUP BY ALL
),
actor_days AS (
    SELECT actor, day, sum(objects) AS objects, sum(bytes) AS bytes FROM daily GROUP BY ALL
),
judged AS (
    SELECT d.*,
           (SELECT median(o.objects) FROM actor_days o WHERE o.actor = d.actor AND o.day <> d.day) AS usual_objects,
           (SELECT median(o.bytes) FROM actor_days o WHERE o.actor = d.actor AND o.day <> d.day) AS usual_bytes,
           (SELECT max(o.bytes) FROM actor_days o WHERE o.actor = d.actor AND o.day <> d.day) AS most_bytes
    FROM daily d
)
SELECT first_seen, last_seen, actor AS principal, source_ip, keys AS access_key_id,
       buckets AS bucket, NULL::VARCHAR AS object_key, objects AS events,
       objects || ' objects, ' || bytes || ' bytes read on ' || strftime(day, '%Y-%m-%d') ||
       coalesce(' (usual day: ' || CAST(round(usual_objects) AS BIGINT) || ' objects, '
                || CAST(round(usual_bytes) AS BIGINT) || ' bytes)',
                ' (no other active day to compare)') AS detail
FROM judged
WHERE (objects >= $min_objects OR bytes >= $min_bytes)
  -- Object counts are steady for a job; byte totals swing with object sizes, so bytes count as
  -- unusual only beyond the actor's largest other day.
  AND (usual_objects IS NULL
       OR objects > $factor * greatest(usual_objects, 1)
       OR bytes > $factor * greatest(most_bytes, 1))
  AND ($start IS NULL OR last_seen >= $start) AND ($end IS NULL OR first_seen < $end)
ORDER BY first_seen, principal, source_ip
