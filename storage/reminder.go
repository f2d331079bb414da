package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/internbot/internbot"
)

const reminderColumns = `deadline, day, channel, state, ts, last_error, attempts, updated_at`

func scanReminder(s interface{ Scan(...any) error }) (internbot.Reminder, error) {
	var (
		r  internbot.Reminder
		at string
	)
	if err := s.Scan(&r.Deadline, &r.Day, &r.Channel, &r.State, &r.TS, &r.LastError, &r.Attempts, &at); err != nil {
		return internbot.Reminder{}, err
	}
	var err error
	r.UpdatedAt, err = parseTime(at)
	return r, err
}

// Reminder returns the bookkeeping for (deadline, day), or ErrNotFound.
func (db *DB) Reminder(ctx context.Context, deadline, day string) (internbot.Reminder, error) {
	r, err := findReminder(ctx, db.db, deadline, day)
	if err != nil {
		return internbot.Reminder{}, fmt.Errorf("reminder: %w", err)
	}
	return r, nil
}

func findReminder(ctx context.Context, q querier, deadline, day string) (internbot.Reminder, error) {
	r, err := scanReminder(q.QueryRowContext(ctx,
		`SELECT `+reminderColumns+` FROM reminders WHERE deadline = ? AND day = ?`, deadline, day))
	if errors.Is(err, sql.ErrNoRows) {
		return internbot.Reminder{}, fmt.Errorf("reminder %q on %s: %w", deadline, day, internbot.ErrNotFound)
	}
	return r, err
}

// ClaimReminder takes the reminder for (deadline, day) — its channel post and its DMs — for holder
// until now+lease. It creates the row if absent and, while the reminder is still pending, counts the
// attempt and sets Channel. claimed is false when another holder's lease has not yet run out: that
// process is working on it, and the caller must leave it alone. A holder renews its lease by claiming
// again, and gives it up with ReleaseReminder; the lease of a process that died simply runs out.
func (db *DB) ClaimReminder(ctx context.Context, deadline, day, channel, holder string, lease time.Duration) (r internbot.Reminder, claimed bool, err error) {
	if deadline == "" || holder == "" || lease <= 0 {
		return internbot.Reminder{}, false, fmt.Errorf("claim reminder: empty deadline or holder, or no lease: %w", internbot.ErrInvalid)
	}
	if err := validDay(day); err != nil {
		return internbot.Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return internbot.Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
	}
	defer tx.Rollback()
	nowUS := tx.now.UnixMicro()
	res, err := tx.ExecContext(ctx, `
		INSERT INTO reminders (deadline, day, channel, state, attempts, updated_at, lease_holder, lease_until)
		VALUES (?, ?, ?, 'pending', 1, ?, ?, ?)
		ON CONFLICT (deadline, day) DO UPDATE SET
			attempts = attempts + (state = 'pending' AND (lease_holder <> excluded.lease_holder OR lease_until < ?)),
			channel = CASE WHEN state = 'pending' THEN excluded.channel ELSE channel END,
			updated_at = excluded.updated_at,
			lease_holder = excluded.lease_holder, lease_until = excluded.lease_until
		WHERE lease_holder = '' OR lease_holder = excluded.lease_holder OR lease_until < ?`,
		deadline, day, channel, tx.nowText, holder, nowUS+lease.Microseconds(), nowUS, nowUS)
	if err != nil {
		return internbot.Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return internbot.Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
	}
	r, err = findReminder(ctx, tx, deadline, day)
	if err != nil {
		return internbot.Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return internbot.Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
	}
	return r, n == 1, nil
}

// ReleaseReminder gives up holder's lease on (deadline, day), if it still has it.
func (db *DB) ReleaseReminder(ctx context.Context, deadline, day, holder string) error {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("release reminder: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		UPDATE reminders SET lease_holder = '', lease_until = 0
		WHERE deadline = ? AND day = ? AND lease_holder = ?`, deadline, day, holder); err != nil {
		return fmt.Errorf("release reminder: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("release reminder: %w", err)
	}
	return nil
}

// MarkReminderPosted records that the reminder was posted as message ts.
func (db *DB) MarkReminderPosted(ctx context.Context, deadline, day, ts string) error {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("mark reminder posted: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `
		UPDATE reminders SET state = 'posted', ts = ?, last_error = '', updated_at = ?
		WHERE deadline = ? AND day = ?`, ts, tx.nowText, deadline, day)
	if err != nil {
		return fmt.Errorf("mark reminder posted: %w", err)
	}
	if err := mustAffect(res, fmt.Sprintf("reminder %q on %s", deadline, day)); err != nil {
		return fmt.Errorf("mark reminder posted: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mark reminder posted: %w", err)
	}
	return nil
}

// MarkReminderFailed records why posting failed; the reminder stays pending
// so the next tick retries. It does not touch a reminder already posted.
func (db *DB) MarkReminderFailed(ctx context.Context, deadline, day, reason string) error {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("mark reminder failed: %w", err)
	}
	defer tx.Rollback()
	if _, err := findReminder(ctx, tx, deadline, day); err != nil {
		return fmt.Errorf("mark reminder failed: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE reminders SET last_error = ?, updated_at = ?
		WHERE deadline = ? AND day = ? AND state = 'pending'`, reason, tx.nowText, deadline, day); err != nil {
		return fmt.Errorf("mark reminder failed: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mark reminder failed: %w", err)
	}
	return nil
}

// Reminders returns the reminders of a local day, ordered by deadline.
func (db *DB) Reminders(ctx context.Context, day string) ([]internbot.Reminder, error) {
	rows, err := db.db.QueryContext(ctx,
		`SELECT `+reminderColumns+` FROM reminders WHERE day = ? ORDER BY deadline`, day)
	if err != nil {
		return nil, fmt.Errorf("reminders: %w", err)
	}
	defer rows.Close()
	var rs []internbot.Reminder
	for rows.Next() {
		r, err := scanReminder(rows)
		if err != nil {
			return nil, fmt.Errorf("reminders: %w", err)
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reminders: %w", err)
	}
	return rs, nil
}
