-- HD (docs/hd.md): the size and what was probed of the upscaled file a job that asked for HD keeps beside its
-- video (`{job_id}.hd.mp4`). Whether a job asks for HD is its need `feature:upscale`.
ALTER TABLE jobs ADD COLUMN hd_size BIGINT;
ALTER TABLE jobs ADD COLUMN hd_produced TEXT;
