package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Deadline is a deadline added by an admin. Names are unique regardless of case.
type Deadline struct {
	Name      string
	Date      string // YYYY-MM-DD
	CreatedBy string
	CreatedAt time.Time
}

// AddDeadline stores d (name trimmed, CreatedAt defaulting to now) and
// returns it. A deadline with the same name in any case is ErrDuplicate.
func (db *DB) AddDeadline(ctx context.Context, d Deadline) (Deadline, error) {
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" {
		return Deadline{}, fmt.Errorf("add deadline: empty name: %w", ErrInvalid)
	}
	if err := validDay(d.Date); err != nil {
		return Deadline{}, fmt.Errorf("add deadline %q: %w", d.Name, err)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return Deadline{}, fmt.Errorf("add deadline: %w", err)
	}
	defer tx.Rollback()
	if d.CreatedAt.IsZero() {
		d.CreatedAt = tx.now
	}
	d.CreatedAt = d.CreatedAt.UTC().Truncate(time.Microsecond)
	_, err = tx.ExecContext(ctx, `INSERT INTO deadlines (name, date, created_by, created_at) VALUES (?, ?, ?, ?)`,
		d.Name, d.Date, d.CreatedBy, formatTime(d.CreatedAt))
	if isUniqueViolation(err) {
		return Deadline{}, fmt.Errorf("add deadline %q: %w", d.Name, ErrDuplicate)
	} else if err != nil {
		return Deadline{}, fmt.Errorf("add deadline %q: %w", d.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return Deadline{}, fmt.Errorf("add deadline %q: %w", d.Name, err)
	}
	return d, nil
}

// RemoveDeadline deletes the deadline called name (any case), or returns ErrNotFound.
func (db *DB) RemoveDeadline(ctx context.Context, name string) error {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("remove deadline: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM deadlines WHERE name = ?`, strings.TrimSpace(name))
	if err != nil {
		return fmt.Errorf("remove deadline %q: %w", name, err)
	}
	if err := mustAffect(res, fmt.Sprintf("deadline %q", name)); err != nil {
		return fmt.Errorf("remove deadline: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove deadline %q: %w", name, err)
	}
	return nil
}

// Deadlines returns the stored deadlines ordered by date, then name.
func (db *DB) Deadlines(ctx context.Context) ([]Deadline, error) {
	rows, err := db.db.QueryContext(ctx,
		`SELECT name, date, created_by, created_at FROM deadlines ORDER BY date, name`)
	if err != nil {
		return nil, fmt.Errorf("deadlines: %w", err)
	}
	defer rows.Close()
	var ds []Deadline
	for rows.Next() {
		var (
			d  Deadline
			at string
		)
		if err := rows.Scan(&d.Name, &d.Date, &d.CreatedBy, &at); err != nil {
			return nil, fmt.Errorf("deadlines: %w", err)
		}
		if d.CreatedAt, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("deadlines: %w", err)
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("deadlines: %w", err)
	}
	return ds, nil
}

// Reminder states.
const (
	ReminderPending = "pending"
	ReminderPosted  = "posted"
)

// Reminder is the bookkeeping that makes the channel reminder for a
// deadline exactly-once per local day.
type Reminder struct {
	Deadline  string
	Day       string // local day, YYYY-MM-DD
	Channel   string
	State     string // ReminderPending or ReminderPosted
	TS        string // the posted message's ts
	LastError string
	Attempts  int
	UpdatedAt time.Time
}

const reminderColumns = `deadline, day, channel, state, ts, last_error, attempts, updated_at`

func scanReminder(s interface{ Scan(...any) error }) (Reminder, error) {
	var (
		r  Reminder
		at string
	)
	if err := s.Scan(&r.Deadline, &r.Day, &r.Channel, &r.State, &r.TS, &r.LastError, &r.Attempts, &at); err != nil {
		return Reminder{}, err
	}
	var err error
	r.UpdatedAt, err = parseTime(at)
	return r, err
}

// Reminder returns the bookkeeping for (deadline, day), or ErrNotFound.
func (db *DB) Reminder(ctx context.Context, deadline, day string) (Reminder, error) {
	r, err := findReminder(ctx, db.db, deadline, day)
	if err != nil {
		return Reminder{}, fmt.Errorf("reminder: %w", err)
	}
	return r, nil
}

func findReminder(ctx context.Context, q querier, deadline, day string) (Reminder, error) {
	r, err := scanReminder(q.QueryRowContext(ctx,
		`SELECT `+reminderColumns+` FROM reminders WHERE deadline = ? AND day = ?`, deadline, day))
	if errors.Is(err, sql.ErrNoRows) {
		return Reminder{}, fmt.Errorf("reminder %q on %s: %w", deadline, day, ErrNotFound)
	}
	return r, err
}

// ClaimReminder takes the reminder for (deadline, day) — its channel post and its DMs — for holder
// until now+lease. It creates the row if absent and, while the reminder is still pending, counts the
// attempt and sets Channel. claimed is false when another holder's lease has not yet run out: that
// process is working on it, and the caller must leave it alone. A holder renews its lease by claiming
// again, and gives it up with ReleaseReminder; the lease of a process that died simply runs out.
func (db *DB) ClaimReminder(ctx context.Context, deadline, day, channel, holder string, lease time.Duration) (r Reminder, claimed bool, err error) {
	if deadline == "" || holder == "" || lease <= 0 {
		return Reminder{}, false, fmt.Errorf("claim reminder: empty deadline or holder, or no lease: %w", ErrInvalid)
	}
	if err := validDay(day); err != nil {
		return Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
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
		return Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
	}
	r, err = findReminder(ctx, tx, deadline, day)
	if err != nil {
		return Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Reminder{}, false, fmt.Errorf("claim reminder: %w", err)
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
func (db *DB) Reminders(ctx context.Context, day string) ([]Reminder, error) {
	rows, err := db.db.QueryContext(ctx,
		`SELECT `+reminderColumns+` FROM reminders WHERE day = ? ORDER BY deadline`, day)
	if err != nil {
		return nil, fmt.Errorf("reminders: %w", err)
	}
	defer rows.Close()
	var rs []Reminder
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

// DM states. MarkDMFailed puts a DM back to DMPending (to be tried again);
// MarkDMUndeliverable sets DMFailed, for a DM that can never be delivered.
const (
	DMPending = "pending"
	DMSending = "sending"
	DMSent    = "sent"
	DMFailed  = "failed"
)

// DM is the bookkeeping of one reminder DM to one user.
type DM struct {
	Deadline  string
	Day       string
	User      string
	State     string // DMPending, DMSending, DMSent or DMFailed
	Channel   string // the DM channel, once sent
	TS        string
	LastError string
	Attempts  int
}

// PlanDMs creates the recipient list for (deadline, day) once. The plan is
// a snapshot: if one already exists, nothing is added and created is false.
// Empty and repeated user ids are skipped.
func (db *DB) PlanDMs(ctx context.Context, deadline, day string, users []string) (created bool, err error) {
	if deadline == "" {
		return false, fmt.Errorf("plan dms: empty deadline: %w", ErrInvalid)
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
func (db *DB) DMs(ctx context.Context, deadline, day string) ([]DM, error) {
	rows, err := db.db.QueryContext(ctx, `
		SELECT deadline, day, user_id, state, channel, ts, last_error, attempts
		FROM dms WHERE deadline = ? AND day = ? ORDER BY user_id`, deadline, day)
	if err != nil {
		return nil, fmt.Errorf("dms: %w", err)
	}
	defer rows.Close()
	var dms []DM
	for rows.Next() {
		var d DM
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
		return fmt.Errorf("%s: dm to %s for %q on %s: %w", op, user, deadline, day, ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if refuseSent && state == DMSent {
		return fmt.Errorf("%s: dm to %s for %q on %s already sent: %w", op, user, deadline, day, ErrDuplicate)
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

// SetRemindersOff records whether user opted out of reminder DMs.
func (db *DB) SetRemindersOff(ctx context.Context, user string, off bool) error {
	if user == "" {
		return fmt.Errorf("set reminders off: empty user: %w", ErrInvalid)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("set reminders off: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO prefs (user_id, reminders_off, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET reminders_off = excluded.reminders_off, updated_at = excluded.updated_at`,
		user, off, tx.nowText); err != nil {
		return fmt.Errorf("set reminders off: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set reminders off: %w", err)
	}
	return nil
}

// RemindersOff reports whether user opted out of reminder DMs (false if
// they never said).
func (db *DB) RemindersOff(ctx context.Context, user string) (bool, error) {
	var off bool
	err := db.db.QueryRowContext(ctx, `SELECT reminders_off FROM prefs WHERE user_id = ?`, user).Scan(&off)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("reminders off: %w", err)
	}
	return off, nil
}

// mustAffect turns "no row changed" into ErrNotFound.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}
