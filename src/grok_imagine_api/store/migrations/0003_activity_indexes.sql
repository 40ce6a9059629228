-- Time indexes for the dashboard's activity chart: jobs created and finished per hour.
CREATE INDEX jobs_created_at ON jobs (created_at);
CREATE INDEX jobs_completed_at ON jobs (completed_at, status);
