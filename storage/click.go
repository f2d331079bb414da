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

const (
	insertClickEventQuery = `
		INSERT INTO click_events (poll_id, user_id, message_ts, action_ts, position, received_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`
	// upsertClickQuery is out-of-order safe: an older click never replaces a newer one.
	upsertClickQuery = `
		INSERT INTO poll_clicks (poll_id, user_id, position, action_ts, action_us) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (poll_id, user_id) DO UPDATE SET
			position = excluded.position, action_ts = excluded.action_ts, action_us = excluded.action_us
		WHERE excluded.action_us >= poll_clicks.action_us`
)

// ApplyClick stores a click and derives the person's answer again, in one transaction. A delivery
// stored before is a Duplicate and changes nothing. A closed poll returns ErrPollClosed and stores
// nothing; an option the poll does not have, an empty user or a bad action_ts return ErrInvalid.
func (db *DB) ApplyClick(ctx context.Context, c internbot.Click) (internbot.ClickResult, error) {
	us, err := internbot.ParseSlackTS(c.ActionTS)
	if err != nil || c.User == "" {
		return internbot.ClickResult{}, fmt.Errorf("apply click: user %q, action_ts %q: %w", c.User, c.ActionTS, internbot.ErrInvalid)
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
	if _, err := a.exec(ctx, upsertClickQuery, c.PollID, c.User, c.Option, c.ActionTS, us); err != nil {
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

// ForgetClick withdraws a person's click on a poll (their reactions stand) and returns their answer
// after it: "" when nothing else stands. A closed poll returns ErrPollClosed.
func (db *DB) ForgetClick(ctx context.Context, pollID int64, user string) (string, error) {
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
	if _, err := tx.ExecContext(ctx, `DELETE FROM poll_clicks WHERE poll_id = ? AND user_id = ?`, pollID, user); err != nil {
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
