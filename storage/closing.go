package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/internbot/internbot"
)

// ClaimLease takes the lease name for holder until now+lease, or renews it; false when another
// holder's lease has not run out.
func (db *DB) ClaimLease(ctx context.Context, name, holder string, lease time.Duration) (bool, error) {
	if name == "" || holder == "" || lease <= 0 {
		return false, fmt.Errorf("claim lease: empty name or holder, or no lease: %w", internbot.ErrInvalid)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return false, fmt.Errorf("claim lease: %w", err)
	}
	defer tx.Rollback()
	nowUS := tx.now.UnixMicro()
	res, err := tx.ExecContext(ctx, `
		INSERT INTO leases (name, holder, until_us) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_us = excluded.until_us
		WHERE holder = '' OR holder = excluded.holder OR until_us < ?`,
		name, holder, nowUS+lease.Microseconds(), nowUS)
	if err != nil {
		return false, fmt.Errorf("claim lease: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim lease: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("claim lease: %w", err)
	}
	return n == 1, nil
}

// ReleaseLease gives up holder's lease on name, if it still has it.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE leases SET holder = '', until_us = 0 WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}

// AddClosing records that poll pollID is to be closed by deadline's day ending (before it is
// closed, so that a crash in between still posts its note), and counts an attempt at its note.
// It returns the bookkeeping.
func (db *DB) AddClosing(ctx context.Context, pollID int64, deadline string) (internbot.Closing, error) {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return internbot.Closing{}, fmt.Errorf("add closing: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO poll_closings (poll_id, deadline, state, attempts, updated_at) VALUES (?, ?, 'pending', 1, ?)
		ON CONFLICT (poll_id) DO UPDATE SET attempts = attempts + (state = 'pending'), updated_at = excluded.updated_at`,
		pollID, deadline, tx.nowText); err != nil {
		return internbot.Closing{}, fmt.Errorf("add closing: %w", err)
	}
	var c internbot.Closing
	if err := tx.QueryRowContext(ctx, `SELECT poll_id, deadline, state, ts, attempts FROM poll_closings WHERE poll_id = ?`, pollID).
		Scan(&c.PollID, &c.Deadline, &c.State, &c.TS, &c.Attempts); err != nil {
		return internbot.Closing{}, fmt.Errorf("add closing: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return internbot.Closing{}, fmt.Errorf("add closing: %w", err)
	}
	return c, nil
}

// PendingClosings are the closings whose note is not posted yet, by poll.
func (db *DB) PendingClosings(ctx context.Context) ([]internbot.Closing, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT poll_id, deadline, state, ts, attempts FROM poll_closings WHERE state = 'pending' ORDER BY poll_id`)
	if err != nil {
		return nil, fmt.Errorf("pending closings: %w", err)
	}
	defer rows.Close()
	var out []internbot.Closing
	for rows.Next() {
		var c internbot.Closing
		if err := rows.Scan(&c.PollID, &c.Deadline, &c.State, &c.TS, &c.Attempts); err != nil {
			return nil, fmt.Errorf("pending closings: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending closings: %w", err)
	}
	return out, nil
}

// MarkClosingPosted records the closing note of poll pollID as message ts.
func (db *DB) MarkClosingPosted(ctx context.Context, pollID int64, ts string) error {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("mark closing posted: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE poll_closings SET state = 'posted', ts = ?, updated_at = ? WHERE poll_id = ?`, ts, tx.nowText, pollID)
	if err != nil {
		return fmt.Errorf("mark closing posted: %w", err)
	}
	if err := mustAffect(res, fmt.Sprintf("closing of poll %d", pollID)); err != nil {
		return fmt.Errorf("mark closing posted: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mark closing posted: %w", err)
	}
	return nil
}

// PollByID returns one poll, or an error wrapping ErrNotFound.
func (db *DB) PollByID(ctx context.Context, id int64) (internbot.Poll, error) {
	p, err := findPoll(ctx, db.db, `id = ?`, id)
	if err != nil {
		return internbot.Poll{}, fmt.Errorf("poll %d: %w", id, err)
	}
	return p, nil
}
