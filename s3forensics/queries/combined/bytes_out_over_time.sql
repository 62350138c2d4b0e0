-- title: Bytes sent over time per address or principal
-- kind: summary
-- source: both
-- description: >
--   Bytes sent to clients per time bucket (an hour by default), grouped by source IP or by
--   principal: the shape of an exfiltration. Access logs give bytes_sent, CloudTrail data events
--   bytesTransferredOut; a request present in both sources is counted once. Buckets are aligned
--   to UTC.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
--   group_by: {type: string, default: ip, description: "What to group by: 'ip' or 'principal'"}
--   bucket_minutes: {type: integer, default: 60, description: "Width of each time bucket in minutes"}
-- ---
WITH p AS (
    SELECT CASE WHEN $group_by IN ('ip', 'principal') THEN $group_by
                ELSE error('group_by must be ''ip'' or ''principal'', not '
                           || coalesce('''' || $group_by || '''', 'NULL')) END AS group_by,
           CASE WHEN $bucket_minutes > 0 THEN to_minutes($bucket_minutes)
                ELSE error('bucket_minutes must be a positive number of minutes') END AS width
)
SELECT time_bucket(p.width, a.event_time) AS period_start,
       p.group_by AS grouped_by,
       CASE p.group_by WHEN 'ip' THEN a.source_ip ELSE a.principal END AS group_key,
       count(*) AS requests,
       coalesce(sum(a.bytes_out), 0)::BIGINT AS bytes_out
FROM actor_activity a, p
WHERE NOT coalesce(a.also_in_access_log, false)
  AND ($start IS NULL OR a.event_time >= $start) AND ($end IS NULL OR a.event_time < $end)
GROUP BY 1, 2, 3
ORDER BY period_start, bytes_out DESC, group_key NULLS LAST
