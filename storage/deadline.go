package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/internbot/internbot"
)

// AddDeadline stores d (name trimmed, CreatedAt defaulting to now) and
// returns it. A deadline with the same name in any case is ErrDuplicate.
func (db *DB) AddDeadline(ctx context.Context, d internbot.Deadline) (internbot.Deadline, error) {
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" {
		return internbot.Deadline{}, fmt.Errorf("add deadline: empty name: %w", internbot.ErrInvalid)
	}
	if err := validDay(d.Date); err != nil {
		return internbot.Deadline{}, fmt.Errorf("add deadline %q: %w", d.Name, err)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return internbot.Deadline{}, fmt.Errorf("add deadline: %w", err)
	}
	defer tx.Rollback()
	if d.CreatedAt.IsZero() {
		d.CreatedAt = tx.now
	}
	d.CreatedAt = d.CreatedAt.UTC().Truncate(time.Microsecond)
	_, err = tx.ExecContext(ctx, `INSERT INTO deadlines (name, date, created_by, created_at) VALUES (?, ?, ?, ?)`,
		d.Name, d.Date, d.CreatedBy, formatTime(d.CreatedAt))
	if isUniqueViolation(err) {
		return internbot.Deadline{}, fmt.Errorf("add deadline %q: %w", d.Name, internbot.ErrDuplicate)
	} else if err != nil {
		return internbot.Deadline{}, fmt.Errorf("add deadline %q: %w", d.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return internbot.Deadline{}, fmt.Errorf("add deadline %q: %w", d.Name, err)
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
func (db *DB) Deadlines(ctx context.Context) ([]internbot.Deadline, error) {
	rows, err := db.db.QueryContext(ctx,
		`SELECT name, date, created_by, created_at FROM deadlines ORDER BY date, name`)
	if err != nil {
		return nil, fmt.Errorf("deadlines: %w", err)
	}
	defer rows.Close()
	var ds []internbot.Deadline
	for rows.Next() {
		var (
			d  internbot.Deadline
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

// mustAffect turns "no row changed" into ErrNotFound.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, internbot.ErrNotFound)
	}
	return nil
}
