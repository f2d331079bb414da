package storage

import (
	"context"
	"fmt"

	"github.com/internbot/internbot"
)

// Clicks and reactions together make a person's answer. The rule: a person's answer is their most
// recent expression that still stands. Expressions are the option reactions they have on the poll
// (each timed by its event_ts) and their newest click on an option button (timed by its action_ts,
// Slack's clock too). A newer click replaces an older one; removing a reaction withdraws that
// expression only, so the answer falls back to the newest remaining one, a click included; forgetting
// the click (ForgetClick) withdraws it the same way. Ties go to the option listed first.
//
// Interactions are handled concurrently, so clicks and forgets can be stored out of order. A forget
// is timed too (its own action_ts) and leaves a tombstone: the person's poll_clicks row, withdrawn,
// carrying the forget's time. A click replaces the row only when it is newer than what the row holds,
// standing click or tombstone; a forget withdraws it only when it is at least as new.

const (
	insertClickEventQuery = `
		INSERT INTO click_events (poll_id, user_id, message_ts, action_ts, position, received_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`
	// upsertClickQuery is out-of-order safe: an older click never replaces a newer one, nor a newer
	// (or same-instant) forget's tombstone.
	upsertClickQuery = `
		INSERT INTO poll_clicks (poll_id, user_id, position, action_ts, action_us, withdrawn) VALUES (?, ?, ?, ?, ?, 0)
		ON CONFLICT (poll_id, user_id) DO UPDATE SET
			position = excluded.position, action_ts = excluded.action_ts, action_us = excluded.action_us, withdrawn = 0
		WHERE excluded.action_us > poll_clicks.action_us
			OR excluded.action_us = poll_clicks.action_us AND NOT poll_clicks.withdrawn`
	// withdrawClickQuery leaves the tombstone (position 0 is a placeholder: a withdrawn row is no
	// expression); a forget older than the standing click or tombstone changes nothing.
	withdrawClickQuery = `
		INSERT INTO poll_clicks (poll_id, user_id, position, action_ts, action_us, withdrawn) VALUES (?, ?, 0, ?, ?, 1)
		ON CONFLICT (poll_id, user_id) DO UPDATE SET
			action_ts = excluded.action_ts, action_us = excluded.action_us, withdrawn = 1
		WHERE excluded.action_us >= poll_clicks.action_us`
)

// ApplyClick stores a click and derives the person's answer again, in one transaction. A delivery
// stored before (by user, message and ActionTS) is a Duplicate and changes nothing. The click is
// ordered by OrderTS when set, else by ActionTS. A closed poll returns ErrPollClosed and stores
// nothing; an option the poll does not have, an empty user or a bad action_ts return ErrInvalid.
func (db *DB) ApplyClick(ctx context.Context, c internbot.Click) (internbot.ClickResult, error) {
	orderTS := c.ActionTS
	if c.OrderTS != "" {
		orderTS = c.OrderTS
	}
	_, err := internbot.ParseSlackTS(c.ActionTS)
	us, oerr := internbot.ParseSlackTS(orderTS)
	if err != nil || oerr != nil || c.User == "" {
		return internbot.ClickResult{}, fmt.Errorf("apply click: user %q, action_ts %q, order %q: %w", c.User, c.ActionTS, c.OrderTS, internbot.ErrInvalid)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return internbot.ClickResult{}, fmt.Errorf("apply click: %w", err)
	}
	defer tx.Rollback()
	a := newApplier(tx)
	defer a.close()
	ps, err := a.poll(ctx, c.PollID)
	switch {
	case err != nil:
		return internbot.ClickResult{}, fmt.Errorf("apply click: %w", err)
	case !ps.exists:
		return internbot.ClickResult{}, fmt.Errorf("apply click: poll %d: %w", c.PollID, internbot.ErrNotFound)
	case ps.closed:
		return internbot.ClickResult{}, fmt.Errorf("apply click: poll %d: %w", c.PollID, internbot.ErrPollClosed)
	case c.Option < 0 || c.Option >= len(ps.answers):
		return internbot.ClickResult{}, fmt.Errorf("apply click: option %d of %d: %w", c.Option, len(ps.answers), internbot.ErrInvalid)
	}
	res, err := a.exec(ctx, insertClickEventQuery, c.PollID, c.User, c.MessageTS, c.ActionTS, c.Option, tx.nowText)
	if err != nil {
		return internbot.ClickResult{}, fmt.Errorf("apply click: log: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return internbot.ClickResult{}, fmt.Errorf("apply click: %w", err)
	} else if n == 0 {
		answer, err := a.currentAnswer(ctx, c.PollID, c.User)
		return internbot.ClickResult{Duplicate: true, Answer: answer}, err
	}
	if _, err := a.exec(ctx, upsertClickQuery, c.PollID, c.User, c.Option, orderTS, us); err != nil {
		return internbot.ClickResult{}, fmt.Errorf("apply click: %w", err)
	}
	answer, _, err := a.deriveAnswer(ctx, ps, c.PollID, c.User)
	if err != nil {
		return internbot.ClickResult{}, fmt.Errorf("apply click: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return internbot.ClickResult{}, fmt.Errorf("apply click: %w", err)
	}
	return internbot.ClickResult{Answer: answer}, nil
}

// ForgetClick withdraws a person's click on a poll (their reactions stand) as of actionTS, the
// forget's time on Slack's clock, and returns their answer after it: "" when nothing else stands. A
// click newer than the forget stands; an older one, stored later, stays withdrawn. A closed poll
// returns ErrPollClosed; an empty user or a bad actionTS return ErrInvalid.
func (db *DB) ForgetClick(ctx context.Context, pollID int64, user, actionTS string) (string, error) {
	us, err := internbot.ParseSlackTS(actionTS)
	if err != nil || user == "" {
		return "", fmt.Errorf("forget click: user %q, action_ts %q: %w", user, actionTS, internbot.ErrInvalid)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return "", fmt.Errorf("forget click: %w", err)
	}
	defer tx.Rollback()
	a := newApplier(tx)
	defer a.close()
	ps, err := a.poll(ctx, pollID)
	switch {
	case err != nil:
		return "", fmt.Errorf("forget click: %w", err)
	case !ps.exists:
		return "", fmt.Errorf("forget click: poll %d: %w", pollID, internbot.ErrNotFound)
	case ps.closed:
		return "", fmt.Errorf("forget click: poll %d: %w", pollID, internbot.ErrPollClosed)
	}
	if _, err := a.exec(ctx, withdrawClickQuery, pollID, user, actionTS, us); err != nil {
		return "", fmt.Errorf("forget click: %w", err)
	}
	answer, _, err := a.deriveAnswer(ctx, ps, pollID, user)
	if err != nil {
		return "", fmt.Errorf("forget click: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("forget click: %w", err)
	}
	return answer, nil
}
