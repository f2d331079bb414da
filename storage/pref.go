package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/internbot/internbot"
)

// SetRemindersOff records whether user opted out of reminder DMs.
func (db *DB) SetRemindersOff(ctx context.Context, user string, off bool) error {
	if user == "" {
		return fmt.Errorf("set reminders off: empty user: %w", internbot.ErrInvalid)
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
