-- 0002_heartbeat.sql: one row the readiness probe rewrites and commits, so that the probe meets
-- whatever a real commit would (a full disk, a read-only file system, a lock held too long).
CREATE TABLE heartbeat (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	at TEXT NOT NULL
);
