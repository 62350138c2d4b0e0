-- title: Requests from principals of other accounts
-- kind: hunt
-- source: both
-- mitre: [T1078.004, T1537]
-- description: >
--   Requests by principals whose account is neither a bucket owner's account nor an account
--   CloudTrail delivered events to (the case_accounts view). One row per account, principal and
--   bucket. If the case holds no CloudTrail and the access log keys do not name the account,
--   no account is known to be ours and every identified principal is listed. A request present
--   in both sources is counted once.
-- params:
--   start: {type: timestamp, default: null, description: "Window start (inclusive, UTC); null for the whole case"}
--   end: {type: timestamp, default: null, description: "Window end (exclusive, UTC); null for the whole case"}
-- ---
SELECT principal_account, principal, bucket,
       count(*) AS requests,
       count(*) FILTER (WHERE succeeded) AS succeeded,
       count(*) FILTER (WHERE NOT succeeded) AS failed,
       list_sort(list(DISTINCT operation)) AS operations,
       count(DISTINCT object_key) AS objects,
       coalesce(sum(bytes_out), 0)::BIGINT AS bytes_out,
       coalesce(list_sort(list(DISTINCT source_ip) FILTER (WHERE source_ip IS NOT NULL)), []) AS source_ips,
       list_sort(list(DISTINCT source)) AS sources,
       min(event_time) AS first_seen,
       max(event_time) AS last_seen
FROM actor_activity
WHERE principal_account IS NOT NULL
  AND principal_account NOT IN (SELECT account_id FROM case_accounts WHERE account_id IS NOT NULL)
  AND NOT coalesce(also_in_access_log, false)
  AND ($start IS NULL OR event_time >= $start) AND ($end IS NULL OR event_time < $end)
GROUP BY principal_account, principal, bucket
ORDER BY first_seen, principal_account, principal, bucket NULLS LAST
