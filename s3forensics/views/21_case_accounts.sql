-- Accounts that belong to the investigated estate: every account CloudTrail delivered events to,
-- and every bucket owner. A principal from any other account is cross-account.
CREATE OR REPLACE VIEW case_accounts AS
SELECT DISTINCT recipient_account_id AS account_id FROM cloudtrail_events
WHERE recipient_account_id IS NOT NULL
UNION
SELECT DISTINCT account_id FROM bucket_accounts WHERE account_id IS NOT NULL AND account_id <> '';
