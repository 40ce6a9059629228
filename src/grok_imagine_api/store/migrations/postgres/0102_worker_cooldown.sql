-- A worker that hit Grok's rate limit takes no jobs until cooldown_until (docs/retries.md); every replica honours it.
ALTER TABLE workers ADD COLUMN cooldown_until DOUBLE PRECISION;
ALTER TABLE workers ADD COLUMN cooldown_reason TEXT;
ALTER TABLE workers ADD COLUMN rate_limit_streak INTEGER NOT NULL DEFAULT 0;
