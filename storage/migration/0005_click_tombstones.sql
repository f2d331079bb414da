-- 0005_click_tombstones.sql: forgetting a click keeps its time.
--
-- Interactions are handled concurrently, so a "Forget my click" can be stored before an older click
-- that was delivered later. The forget now marks the person's row withdrawn and keeps the forget's
-- action_ts (Slack's clock) in action_ts/action_us; a click replaces the row only when it is newer
-- than both the standing click and that tombstone. A withdrawn row is not an expression. ForgetUser
-- still deletes the row, tombstone included.
ALTER TABLE poll_clicks ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0;
