-- 0004_reminder_zones.sql: per-recipient reminder DMs, nudges and the poll's own closing.

-- Leases on work that is not one (deadline, day) channel reminder: the DM fan-out, a poll's closing.
-- A holder renews by claiming again; the lease of a process that died runs out (µs since epoch).
CREATE TABLE leases (
	name         TEXT NOT NULL PRIMARY KEY,
	holder       TEXT NOT NULL,
	until_us     INTEGER NOT NULL
) WITHOUT ROWID;

-- The DM channel conversations.open gave for each user, so later days skip that Tier 3 call.
CREATE TABLE dm_channels (
	user_id    TEXT NOT NULL PRIMARY KEY,
	channel    TEXT NOT NULL,
	updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- /internship nudge: at most one per local day (the config's zone).
CREATE TABLE nudges (
	day        TEXT NOT NULL PRIMARY KEY,
	by_user    TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL
) WITHOUT ROWID;

-- A poll closed by poll.close_at, and its closing note in the poll's channel (posted once).
CREATE TABLE poll_closings (
	poll_id    INTEGER NOT NULL PRIMARY KEY REFERENCES polls (id),
	deadline   TEXT NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('pending', 'posted')),
	ts         TEXT NOT NULL DEFAULT '',
	attempts   INTEGER NOT NULL DEFAULT 0,
	updated_at TEXT NOT NULL
);
