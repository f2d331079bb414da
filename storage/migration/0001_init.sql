-- 0001_init.sql: the initial internbot schema. Never edit an applied
-- migration; add a new file instead.
--
-- Times are TEXT in UTC, fixed width ("2006-01-02T15:04:05.000000Z"), so
-- they sort as strings. Slack timestamps are kept as text (event_ts) and as
-- integer microseconds (event_us) so that comparisons are numeric.

CREATE TABLE polls (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	channel    TEXT NOT NULL,
	ts         TEXT NOT NULL DEFAULT '',
	question   TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	closed_at  TEXT -- NULL while the poll is open
);
CREATE UNIQUE INDEX polls_message ON polls (channel, ts) WHERE ts <> '';
CREATE INDEX polls_channel ON polls (channel, id);

-- A poll keeps the options it was created with, whatever the config says later.
CREATE TABLE poll_options (
	poll_id  INTEGER NOT NULL REFERENCES polls (id),
	position INTEGER NOT NULL,
	reaction TEXT NOT NULL,
	answer   TEXT NOT NULL,
	PRIMARY KEY (poll_id, position),
	UNIQUE (poll_id, reaction)
) WITHOUT ROWID;

-- Raw log of every reaction event received for a known poll (and of the
-- changes ReconcilePoll made, source = 'reconcile').
CREATE TABLE reaction_events (
	id          INTEGER PRIMARY KEY,
	event_id    TEXT NOT NULL DEFAULT '',
	poll_id     INTEGER NOT NULL REFERENCES polls (id),
	user_id     TEXT NOT NULL,
	reaction    TEXT NOT NULL,
	added       INTEGER NOT NULL,
	event_ts    TEXT NOT NULL,
	event_us    INTEGER NOT NULL,
	received_at TEXT NOT NULL,
	source      TEXT NOT NULL DEFAULT 'event' CHECK (source IN ('event', 'reconcile')),
	ignored     INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX reaction_events_event_id ON reaction_events (event_id) WHERE event_id <> '';
-- Deliberately no index on user_id: it cost a third of ApplyReactions'
-- throughput, and only the rare ForgetUser scans the log by user.

-- Current facts: is this option reaction of this user on this poll present,
-- as of the newest event seen (event_us)?
CREATE TABLE reaction_facts (
	poll_id  INTEGER NOT NULL REFERENCES polls (id),
	user_id  TEXT NOT NULL,
	reaction TEXT NOT NULL,
	position INTEGER NOT NULL, -- the option's position in the poll; breaks event_us ties
	present  INTEGER NOT NULL,
	event_ts TEXT NOT NULL,
	event_us INTEGER NOT NULL,
	PRIMARY KEY (poll_id, user_id, reaction)
) WITHOUT ROWID;

-- Derived from reaction_facts in the same transaction that changes them.
CREATE TABLE answers (
	poll_id     INTEGER NOT NULL REFERENCES polls (id),
	user_id     TEXT NOT NULL,
	answer      TEXT NOT NULL,
	answered_at TEXT NOT NULL,
	PRIMARY KEY (poll_id, user_id)
) WITHOUT ROWID;

-- Deadlines added by admins; the config's own deadlines are not stored.
CREATE TABLE deadlines (
	name       TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
	date       TEXT NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL
) WITHOUT ROWID;

-- One channel reminder per (deadline, local day).
CREATE TABLE reminders (
	deadline   TEXT NOT NULL COLLATE NOCASE,
	day        TEXT NOT NULL,
	channel    TEXT NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('pending', 'posted')),
	ts         TEXT NOT NULL DEFAULT '',
	last_error TEXT NOT NULL DEFAULT '',
	attempts   INTEGER NOT NULL DEFAULT 0,
	updated_at TEXT NOT NULL,
	-- the process working on this reminder (channel post and DMs) and until when (µs since epoch):
	-- a scheduled run and `internbot remind` never work on the same reminder at once.
	lease_holder TEXT NOT NULL DEFAULT '',
	lease_until  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (deadline, day)
) WITHOUT ROWID;

-- A DM plan is created once per (deadline, day); its recipients are a snapshot.
CREATE TABLE dm_plans (
	deadline   TEXT NOT NULL COLLATE NOCASE,
	day        TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (deadline, day)
) WITHOUT ROWID;

CREATE TABLE dms (
	deadline   TEXT NOT NULL COLLATE NOCASE,
	day        TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
	channel    TEXT NOT NULL DEFAULT '',
	ts         TEXT NOT NULL DEFAULT '',
	last_error TEXT NOT NULL DEFAULT '',
	attempts   INTEGER NOT NULL DEFAULT 0,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (deadline, day, user_id)
) WITHOUT ROWID;
CREATE INDEX dms_user ON dms (user_id);

CREATE TABLE prefs (
	user_id       TEXT NOT NULL PRIMARY KEY,
	reminders_off INTEGER NOT NULL DEFAULT 0,
	updated_at    TEXT NOT NULL
) WITHOUT ROWID;
