-- Image jobs (docs/images.md): the medium a job makes, how many images were asked, and the images made.
ALTER TABLE jobs ADD COLUMN media TEXT NOT NULL DEFAULT 'video';
ALTER TABLE jobs ADD COLUMN n INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN images TEXT;
