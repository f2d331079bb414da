package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/internbot/internbot"
)

// validatePoll says what is wrong with p, if anything, before it is stored.
func validatePoll(p internbot.Poll) error {
	if p.Channel == "" {
		return fmt.Errorf("poll channel is empty: %w", internbot.ErrInvalid)
	}
	if len(p.Options) == 0 {
		return fmt.Errorf("poll has no options: %w", internbot.ErrInvalid)
	}
	seen := map[string]bool{}
	for i, o := range p.Options {
		if o.Reaction == "" || o.Answer == "" {
			return fmt.Errorf("poll option %d: empty reaction or answer: %w", i, internbot.ErrInvalid)
		}
		if strings.HasPrefix(o.Reaction, ":") || strings.HasSuffix(o.Reaction, ":") {
			return fmt.Errorf("poll option %d: reaction %q must be a name without colons: %w", i, o.Reaction, internbot.ErrInvalid)
		}
		if seen[o.Reaction] {
			return fmt.Errorf("poll option %d: reaction %q listed twice: %w", i, o.Reaction, internbot.ErrInvalid)
		}
		seen[o.Reaction] = true
	}
	return nil
}

// CreatePoll stores a new poll and returns it with ID and CreatedAt set
// (CreatedAt defaults to now). A second poll on the same (Channel, TS)
// returns ErrDuplicate.
func (db *DB) CreatePoll(ctx context.Context, p internbot.Poll) (internbot.Poll, error) {
	if err := validatePoll(p); err != nil {
		return internbot.Poll{}, fmt.Errorf("create poll: %w", err)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return internbot.Poll{}, fmt.Errorf("create poll: %w", err)
	}
	defer tx.Rollback()
	if err := createPoll(ctx, tx, &p); err != nil {
		return internbot.Poll{}, fmt.Errorf("create poll: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return internbot.Poll{}, fmt.Errorf("create poll: %w", err)
	}
	return p, nil
}

// ReplacePoll stores a new poll as its channel's current one: in the same transaction it closes the
// channel's polls still open, and returns them closed. A channel has one current poll; two commands
// racing, or a close that failed after the create, would otherwise leave two counting side by side.
func (db *DB) ReplacePoll(ctx context.Context, p internbot.Poll) (internbot.Poll, []internbot.Poll, error) {
	if err := validatePoll(p); err != nil {
		return internbot.Poll{}, nil, fmt.Errorf("replace poll: %w", err)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return internbot.Poll{}, nil, fmt.Errorf("replace poll: %w", err)
	}
	defer tx.Rollback()
	open, err := findPolls(ctx, tx, `channel = ? AND closed_at IS NULL`, p.Channel)
	if err != nil {
		return internbot.Poll{}, nil, fmt.Errorf("replace poll: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE polls SET closed_at = ? WHERE channel = ? AND closed_at IS NULL`, tx.nowText, p.Channel); err != nil {
		return internbot.Poll{}, nil, fmt.Errorf("replace poll: %w", err)
	}
	if err := createPoll(ctx, tx, &p); err != nil {
		return internbot.Poll{}, nil, fmt.Errorf("replace poll: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return internbot.Poll{}, nil, fmt.Errorf("replace poll: %w", err)
	}
	for i := range open {
		open[i].ClosedAt = tx.now
	}
	return p, open, nil
}

func createPoll(ctx context.Context, tx *tx, p *internbot.Poll) error {
	p.Options = slices.Clone(p.Options)
	if p.CreatedAt.IsZero() {
		p.CreatedAt = tx.now
	}
	p.CreatedAt = p.CreatedAt.UTC().Truncate(time.Microsecond)
	var closed any
	if !p.ClosedAt.IsZero() {
		p.ClosedAt = p.ClosedAt.UTC().Truncate(time.Microsecond)
		closed = formatTime(p.ClosedAt)
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO polls (channel, ts, question, created_by, created_at, closed_at, anonymous, hide_results)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.Channel, p.TS, p.Question, p.CreatedBy, formatTime(p.CreatedAt), closed, p.Anonymous, p.HideResults)
	if isUniqueViolation(err) {
		return fmt.Errorf("poll for message %s/%s: %w", p.Channel, p.TS, internbot.ErrDuplicate)
	} else if err != nil {
		return err
	}
	if p.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx,
		`INSERT INTO poll_options (poll_id, position, reaction, answer) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i, o := range p.Options {
		if _, err := stmt.ExecContext(ctx, p.ID, i, o.Reaction, o.Answer); err != nil {
			return err
		}
	}
	return nil
}

// PollByMessage returns the poll posted as message ts in channel.
func (db *DB) PollByMessage(ctx context.Context, channel, ts string) (internbot.Poll, error) {
	p, err := findPoll(ctx, db.db, `channel = ? AND ts = ? AND ts <> ''`, channel, ts)
	if err != nil {
		return internbot.Poll{}, fmt.Errorf("poll by message %s/%s: %w", channel, ts, err)
	}
	return p, nil
}

// CurrentPoll returns the newest poll created in channel, open or closed.
func (db *DB) CurrentPoll(ctx context.Context, channel string) (internbot.Poll, error) {
	p, err := findPoll(ctx, db.db, `id = (SELECT max(id) FROM polls WHERE channel = ?)`, channel)
	if err != nil {
		return internbot.Poll{}, fmt.Errorf("current poll in %s: %w", channel, err)
	}
	return p, nil
}

// LatestPoll returns the newest poll in any channel, open or closed.
func (db *DB) LatestPoll(ctx context.Context) (internbot.Poll, error) {
	p, err := findPoll(ctx, db.db, `id = (SELECT max(id) FROM polls)`)
	if err != nil {
		return internbot.Poll{}, fmt.Errorf("latest poll: %w", err)
	}
	return p, nil
}

// OpenPolls returns the polls not closed yet, in creation order.
func (db *DB) OpenPolls(ctx context.Context) ([]internbot.Poll, error) {
	ps, err := findPolls(ctx, db.db, `closed_at IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("open polls: %w", err)
	}
	return ps, nil
}

// Polls returns every poll in creation order.
func (db *DB) Polls(ctx context.Context) ([]internbot.Poll, error) {
	ps, err := findPolls(ctx, db.db, `1`)
	if err != nil {
		return nil, fmt.Errorf("polls: %w", err)
	}
	return ps, nil
}

// ClosePoll closes a poll: later reaction events on it are ignored. Closing
// a closed poll returns the poll unchanged together with an error wrapping
// ErrPollClosed.
func (db *DB) ClosePoll(ctx context.Context, id int64) (internbot.Poll, error) {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return internbot.Poll{}, fmt.Errorf("close poll %d: %w", id, err)
	}
	defer tx.Rollback()
	p, err := findPoll(ctx, tx, `id = ?`, id)
	if err != nil {
		return internbot.Poll{}, fmt.Errorf("close poll %d: %w", id, err)
	}
	if p.Closed() {
		return p, fmt.Errorf("close poll %d: %w", id, internbot.ErrPollClosed)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE polls SET closed_at = ? WHERE id = ?`, tx.nowText, id); err != nil {
		return internbot.Poll{}, fmt.Errorf("close poll %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return internbot.Poll{}, fmt.Errorf("close poll %d: %w", id, err)
	}
	p.ClosedAt = tx.now
	return p, nil
}

// ReopenPoll opens a closed poll again, so reactions on it count once more. Only a channel's newest
// poll can be reopened: when a newer poll has replaced it, the poll stays closed and the error wraps
// ErrSuperseded (a channel has one current poll, and two open ones would split the answers).
// Reopening an open poll returns it unchanged.
func (db *DB) ReopenPoll(ctx context.Context, id int64) (internbot.Poll, error) {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return internbot.Poll{}, fmt.Errorf("reopen poll %d: %w", id, err)
	}
	defer tx.Rollback()
	p, err := findPoll(ctx, tx, `id = ?`, id)
	if err != nil {
		return internbot.Poll{}, fmt.Errorf("reopen poll %d: %w", id, err)
	}
	if !p.Closed() {
		return p, nil
	}
	var newest int64
	if err := tx.QueryRowContext(ctx, `SELECT max(id) FROM polls WHERE channel = ?`, p.Channel).Scan(&newest); err != nil {
		return internbot.Poll{}, fmt.Errorf("reopen poll %d: %w", id, err)
	}
	if newest != id {
		return p, fmt.Errorf("reopen poll %d: %w", id, internbot.ErrSuperseded)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE polls SET closed_at = NULL WHERE id = ?`, id); err != nil {
		return internbot.Poll{}, fmt.Errorf("reopen poll %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return internbot.Poll{}, fmt.Errorf("reopen poll %d: %w", id, err)
	}
	p.ClosedAt = time.Time{}
	return p, nil
}

// findPoll returns the single poll matching where, or ErrNotFound.
func findPoll(ctx context.Context, q querier, where string, args ...any) (internbot.Poll, error) {
	ps, err := findPolls(ctx, q, where, args...)
	if err != nil {
		return internbot.Poll{}, err
	}
	if len(ps) == 0 {
		return internbot.Poll{}, internbot.ErrNotFound
	}
	return ps[0], nil
}

// findPolls returns the polls matching where (an SQL condition on polls),
// with their options, in creation order.
func findPolls(ctx context.Context, q querier, where string, args ...any) ([]internbot.Poll, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT id, channel, ts, question, created_by, created_at, closed_at, anonymous, hide_results
		FROM polls WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var polls []internbot.Poll
	index := map[int64]int{}
	for rows.Next() {
		var (
			p         internbot.Poll
			createdAt string
			closedAt  sql.NullString
		)
		if err := rows.Scan(&p.ID, &p.Channel, &p.TS, &p.Question, &p.CreatedBy, &createdAt, &closedAt, &p.Anonymous, &p.HideResults); err != nil {
			return nil, err
		}
		if p.CreatedAt, err = parseTime(createdAt); err != nil {
			return nil, err
		}
		if closedAt.Valid {
			if p.ClosedAt, err = parseTime(closedAt.String); err != nil {
				return nil, err
			}
		}
		index[p.ID] = len(polls)
		polls = append(polls, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(polls) == 0 {
		return nil, nil
	}
	rows.Close()

	// Options of polls are never changed after creation, so reading them
	// outside the polls query's snapshot is safe.
	orows, err := q.QueryContext(ctx, `
		SELECT poll_id, reaction, answer FROM poll_options
		WHERE poll_id IN (SELECT id FROM polls WHERE `+where+`)
		ORDER BY poll_id, position`, args...)
	if err != nil {
		return nil, err
	}
	defer orows.Close()
	for orows.Next() {
		var (
			id int64
			o  internbot.PollOption
		)
		if err := orows.Scan(&id, &o.Reaction, &o.Answer); err != nil {
			return nil, err
		}
		if i, ok := index[id]; ok {
			polls[i].Options = append(polls[i].Options, o)
		}
	}
	return polls, orows.Err()
}

// pollExists is the check behind ErrNotFound for queries on a poll's rows.
func pollExists(ctx context.Context, q querier, id int64) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM polls WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("poll %d: %w", id, internbot.ErrNotFound)
	}
	return nil
}
