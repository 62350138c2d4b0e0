-- title: Records per log source
-- kind: summary
-- source: both
-- description: >
--   How many records the case holds from each log source (S3 server access logs, CloudTrail
--   events), over the whole case: which sources a result can speak for. A source with 0 records
--   is missing, and the queries that read only it say nothing about what happened.
-- ---
SELECT 's3-access' AS source, (SELECT count(*) FROM access_requests) AS records
UNION ALL
SELECT 'cloudtrail' AS source, (SELECT count(*) FROM trail_events) AS records
ORDER BY source DESC
