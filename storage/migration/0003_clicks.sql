-- 0003_clicks.sql: answers given with the poll message's buttons, and the poll's privacy modes.
--
-- A click is an expression beside the reaction facts: a person's newest click on a poll (one row,
-- replaced only by a newer click, removed when they forget it), timed on Slack's clock by the
-- block_actions action_ts. The answer is derived from the present reaction facts and this click
-- together: the newest expression wins.
CREATE TABLE poll_clicks (
	poll_id   INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
	user_id   TEXT NOT NULL,
	position  INTEGER NOT NULL, -- the option's position in poll_options
	action_ts TEXT NOT NULL,
	action_us INTEGER NOT NULL,
	PRIMARY KEY (poll_id, user_id)
);

-- Every click stored, by what identifies a delivery of it (who, on which message, at which
-- action_ts): Slack may deliver an interaction again, and a click seen before changes nothing, even
-- after the person forgot their click.
CREATE TABLE click_events (
	poll_id     INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
	user_id     TEXT NOT NULL,
	message_ts  TEXT NOT NULL,
	action_ts   TEXT NOT NULL,
	position    INTEGER NOT NULL,
	received_at TEXT NOT NULL,
	UNIQUE (user_id, message_ts, action_ts)
);

-- A poll keeps the privacy it was posted with, whatever the config says later: an anonymous poll
-- never shows names, a hide_results poll shows no counts until it closes.
ALTER TABLE polls ADD COLUMN anonymous INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN hide_results INTEGER NOT NULL DEFAULT 0;
