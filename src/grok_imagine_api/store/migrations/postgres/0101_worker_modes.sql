-- The media each worker's latest poll asked for (video, image): the other replicas narrow its abilities to them.
ALTER TABLE workers ADD COLUMN modes TEXT NOT NULL DEFAULT 'video';
