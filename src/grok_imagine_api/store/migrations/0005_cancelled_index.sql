-- Cancelled jobs (failed, code `cancelled`) are a state of their own on the dashboard: counting and listing them
-- reads this index of them alone, however many other jobs failed.
CREATE INDEX jobs_cancelled ON jobs (seq) WHERE status = 'failed' AND error_code = 'cancelled';
