-- Accounts the investigated estate certainly owns: those whose CloudTrail the case holds (the
-- recipients) and the owners of buckets whose access logs the case holds. Unlike case_accounts,
-- the owner of a bucket merely named in an event (an attacker's destination bucket, whose
-- accountId CloudTrail puts on the resource) is not one of them.
CREATE OR REPLACE VIEW own_accounts AS
SELECT DISTINCT recipient_account_id AS account_id FROM cloudtrail_events
WHERE recipient_account_id IS NOT NULL
UNION
SELECT DISTINCT b.account_id FROM bucket_accounts b
WHERE b.account_id IS NOT NULL AND b.account_id <> ''
  AND b.bucket IN (SELECT DISTINCT bucket FROM s3_access_logs);
