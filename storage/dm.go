package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/internbot/internbot"
)

// PlanDMs creates the recipient list for (deadline, day) once. The plan is
// a snapshot: if one already exists, nothing is added and created is false.
// Empty and repeated user ids are skipped.
func (db *DB) PlanDMs(ctx context.Context, deadline, day string, users []string) (created bool, err error) {
	if deadline == "" {
		return false, fmt.Errorf("plan dms: empty deadline: %w", internbot.ErrInvalid)
	}
	if err := validDay(day); err != nil {
		return false, fmt.Errorf("plan dms: %w", err)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return false, fmt.Errorf("plan dms: %w", err)
	}
	defer tx.Rollback()
	if created, err = planDMs(ctx, tx, deadline, day, users); err != nil {
		return false, fmt.Errorf("plan dms: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("plan dms: %w", err)
	}
	return created, nil
}

func planDMs(ctx context.Context, tx *tx, deadline, day string, users []string) (bool, error) {
	res, err := tx.ExecContext(ctx,
		`INSERT INTO dm_plans (deadline, day, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		deadline, day, tx.nowText)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	stmt, err := tx.PrepareContext(ctx, `
		INSERT INTO dms (deadline, day, user_id, state, updated_at) VALUES (?, ?, ?, 'pending', ?)
		ON CONFLICT DO NOTHING`)
	if err != nil {
		return false, err
	}
	defer stmt.Close()
	for _, u := range slices.Compact(slices.Sorted(slices.Values(users))) {
		if u == "" {
			continue
		}
		if _, err := stmt.ExecContext(ctx, deadline, day, u, tx.nowText); err != nil {
			return false, err
		}
	}
	return true, nil
}

// DMs returns the planned DMs of (deadline, day), ordered by user.
func (db *DB) DMs(ctx context.Context, deadline, day string) ([]internbot.DM, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT deadline, day, user_id, state, channel, ts, last_error, attempts
		FROM dms WHERE deadline = ? AND day = ? ORDER BY user_id`, deadline, day)
	if err != nil {
		return nil, fmt.Errorf("dms: %w", err)
	}
	defer rows.Close()
	var dms []internbot.DM
	for rows.Next() {
		var d internbot.DM
		if err := rows.Scan(&d.Deadline, &d.Day, &d.User, &d.State, &d.Channel, &d.TS, &d.LastError, &d.Attempts); err != nil {
			return nil, fmt.Errorf("dms: %w", err)
		}
		dms = append(dms, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dms: %w", err)
	}
	return dms, nil
}

// MarkDMSending records an attempt (Attempts+1) just before sending. A DM
// already sent returns an error wrapping ErrDuplicate and is not changed,
// so a confused caller cannot send twice through this bookkeeping.
func (db *DB) MarkDMSending(ctx context.Context, deadline, day, user string) error {
	return db.updateDM(ctx, "mark dm sending", deadline, day, user, true,
		`UPDATE dms SET state = 'sending', attempts = attempts + 1, updated_at = ?
		 WHERE deadline = ? AND day = ? AND user_id = ?`)
}

// MarkDMSent records that the DM was delivered as message ts in channel.
func (db *DB) MarkDMSent(ctx context.Context, deadline, day, user, channel, ts string) error {
	return db.updateDM(ctx, "mark dm sent", deadline, day, user, false,
		`UPDATE dms SET state = 'sent', channel = ?, ts = ?, last_error = '', updated_at = ?
		 WHERE deadline = ? AND day = ? AND user_id = ?`, channel, ts)
}

// MarkDMFailed records why sending failed and puts the DM back to pending,
// so the next tick retries. A DM already sent is left alone.
func (db *DB) MarkDMFailed(ctx context.Context, deadline, day, user, reason string) error {
	return db.updateDM(ctx, "mark dm failed", deadline, day, user, false,
		`UPDATE dms SET state = 'pending', last_error = ?, updated_at = ?
		 WHERE deadline = ? AND day = ? AND user_id = ? AND state <> 'sent'`, reason)
}

// MarkDMUndeliverable records why the DM can never be delivered (the user
// was deactivated, the bot may not DM them) and marks it DMFailed, so it is
// not tried again. A DM already sent is left alone.
func (db *DB) MarkDMUndeliverable(ctx context.Context, deadline, day, user, reason string) error {
	return db.updateDM(ctx, "mark dm undeliverable", deadline, day, user, false,
		`UPDATE dms SET state = 'failed', last_error = ?, updated_at = ?
		 WHERE deadline = ? AND day = ? AND user_id = ? AND state <> 'sent'`, reason)
}

// updateDM runs query with args followed by (now, deadline, day, user) on
// an existing DM row; refuseSent makes a sent DM an ErrDuplicate.
func (db *DB) updateDM(ctx context.Context, op, deadline, day, user string, refuseSent bool, query string, args ...any) error {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer tx.Rollback()
	var state string
	err = tx.QueryRowContext(ctx,
		`SELECT state FROM dms WHERE deadline = ? AND day = ? AND user_id = ?`, deadline, day, user).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: dm to %s for %q on %s: %w", op, user, deadline, day, internbot.ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if refuseSent && state == internbot.DMSent {
		return fmt.Errorf("%s: dm to %s for %q on %s already sent: %w", op, user, deadline, day, internbot.ErrDuplicate)
	}
	args = append(args, tx.nowText, deadline, day, user)
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// AddDM records the DM for (deadline, day, user) as pending unless it is already recorded, and
// returns its bookkeeping. day is the recipient's own local day, so the key makes a DM exactly-once
// per person per deadline per their day.
func (db *DB) AddDM(ctx context.Context, deadline, day, user string) (internbot.DM, error) {
	if deadline == "" || user == "" {
		return internbot.DM{}, fmt.Errorf("add dm: empty deadline or user: %w", internbot.ErrInvalid)
	}
	if err := validDay(day); err != nil {
		return internbot.DM{}, fmt.Errorf("add dm: %w", err)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return internbot.DM{}, fmt.Errorf("add dm: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO dms (deadline, day, user_id, state, updated_at) VALUES (?, ?, ?, 'pending', ?)
		ON CONFLICT DO NOTHING`, deadline, day, user, tx.nowText); err != nil {
		return internbot.DM{}, fmt.Errorf("add dm: %w", err)
	}
	var d internbot.DM
	if err := tx.QueryRowContext(ctx, `
		SELECT deadline, day, user_id, state, channel, ts, last_error, attempts
		FROM dms WHERE deadline = ? AND day = ? AND user_id = ?`, deadline, day, user).
		Scan(&d.Deadline, &d.Day, &d.User, &d.State, &d.Channel, &d.TS, &d.LastError, &d.Attempts); err != nil {
		return internbot.DM{}, fmt.Errorf("add dm: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return internbot.DM{}, fmt.Errorf("add dm: %w", err)
	}
	return d, nil
}

// DMChannel is the DM channel id stored for user, "" if none is.
func (db *DB) DMChannel(ctx context.Context, user string) (string, error) {
	var ch string
	err := db.db.QueryRowContext(ctx, `SELECT channel FROM dm_channels WHERE user_id = ?`, user).Scan(&ch)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("dm channel: %w", err)
	}
	return ch, nil
}

// SetDMChannel stores the DM channel id conversations.open gave for user; "" forgets it.
func (db *DB) SetDMChannel(ctx context.Context, user, channel string) error {
	if user == "" {
		return fmt.Errorf("set dm channel: empty user: %w", internbot.ErrInvalid)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("set dm channel: %w", err)
	}
	defer tx.Rollback()
	if channel == "" {
		_, err = tx.ExecContext(ctx, `DELETE FROM dm_channels WHERE user_id = ?`, user)
	} else {
		_, err = tx.ExecContext(ctx, `
			INSERT INTO dm_channels (user_id, channel, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET channel = excluded.channel, updated_at = excluded.updated_at`,
			user, channel, tx.nowText)
	}
	if err != nil {
		return fmt.Errorf("set dm channel: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set dm channel: %w", err)
	}
	return nil
}

// ClaimNudgeDay records that an admin's nudge went out on day; false if one already did.
func (db *DB) ClaimNudgeDay(ctx context.Context, day, by string) (bool, error) {
	if err := validDay(day); err != nil {
		return false, fmt.Errorf("claim nudge day: %w", err)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return false, fmt.Errorf("claim nudge day: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO nudges (day, by_user, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		day, by, tx.nowText)
	if err != nil {
		return false, fmt.Errorf("claim nudge day: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim nudge day: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("claim nudge day: %w", err)
	}
	return n == 1, nil
}
