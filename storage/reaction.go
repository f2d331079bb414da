package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/internbot/internbot"
)

// pollState is what applying an event needs to know about its poll; it is
// loaded once per poll per transaction.
type pollState struct {
	exists   bool
	closed   bool
	position map[string]int // option reaction → position
	answers  []string       // answer by position
}

// loadPollState reads a poll's state and options with one query (a prepare
// is a good part of a small transaction's cost).
func loadPollState(ctx context.Context, a *applier, id int64) (*pollState, error) {
	s, err := a.stmt(ctx, pollStateQuery)
	if err != nil {
		return nil, err
	}
	rows, err := s.QueryContext(ctx, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ps := &pollState{position: map[string]int{}}
	for rows.Next() {
		var reaction, answer string
		if err := rows.Scan(&ps.closed, &reaction, &answer); err != nil {
			return nil, err
		}
		ps.exists = true
		ps.position[reaction] = len(ps.answers)
		ps.answers = append(ps.answers, answer)
	}
	return ps, rows.Err()
}

func newPollState(p internbot.Poll) *pollState {
	ps := &pollState{exists: true, closed: p.Closed(), position: map[string]int{}}
	for i, o := range p.Options {
		ps.position[o.Reaction] = i
		ps.answers = append(ps.answers, o.Answer)
	}
	return ps
}

// ApplyReactions applies events in slice order in one transaction (group
// commit) and returns one result per event. See the package documentation
// for the answer rules. Events on unknown polls are not logged; every other
// event, ignored ones included, is appended to reaction_events (with
// ignored=1 when it changed nothing by rule), so a retried event is still
// recognised as a duplicate.
func (db *DB) ApplyReactions(ctx context.Context, events []internbot.ReactionEvent) ([]internbot.ReactionResult, error) {
	if len(events) == 0 {
		return nil, nil
	}
	// ctx bounds the wait for this process's write slot; the transaction itself runs with a context
	// that cannot end. With one that can, database/sql and the driver start a goroutine per statement
	// and per result set to watch it, a good part of a statement's cost here. What ctx can no longer
	// interrupt is bounded anyway: BEGIN IMMEDIATE waits at most _busy_timeout (5 s) for another
	// process's write lock, and inside the transaction no statement waits for a lock at all; the
	// batch's statements take microseconds each.
	tx, err := db.beginTxUntil(ctx, context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("apply reactions: %w", err)
	}
	defer tx.Rollback()
	ctx = context.WithoutCancel(ctx)

	a := newApplier(tx)
	defer a.close()
	results := make([]internbot.ReactionResult, len(events))
	for i, ev := range events {
		if results[i], err = a.apply(ctx, ev); err != nil {
			return nil, fmt.Errorf("apply reaction event %d (%s): %w", i, ev.EventID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("apply reactions: %w", err)
	}
	return results, nil
}

// applier holds the statements of a transaction, each taken on first use
// from the DB's prepared statements (see DB.prepared) and reused for every
// later event of the batch.
type applier struct {
	tx    *tx
	polls map[int64]*pollState
	stmts map[string]*sql.Stmt
}

func newApplier(tx *tx) *applier {
	return &applier{tx: tx, polls: map[int64]*pollState{}, stmts: map[string]*sql.Stmt{}}
}

func (a *applier) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := a.stmts[query]; ok {
		return s, nil
	}
	ps, err := a.tx.db.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	s := a.tx.StmtContext(ctx, ps)
	a.stmts[query] = s
	return s, nil
}

func (a *applier) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := a.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (a *applier) close() {
	for _, s := range a.stmts {
		s.Close()
	}
}

const (
	pollStateQuery = `
		SELECT p.closed_at IS NOT NULL, o.reaction, o.answer
		FROM polls p JOIN poll_options o ON o.poll_id = p.id
		WHERE p.id = ? ORDER BY o.position`
	insertEventQuery = `
		INSERT INTO reaction_events
			(event_id, poll_id, user_id, reaction, added, event_ts, event_us, received_at, source, ignored)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'event', ?)
		ON CONFLICT DO NOTHING`
	// upsertFactQuery is out-of-order safe: an older event never overwrites
	// a newer fact, and RowsAffected says whether the fact changed.
	upsertFactQuery = `
		INSERT INTO reaction_facts (poll_id, user_id, reaction, position, present, event_ts, event_us)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (poll_id, user_id, reaction) DO UPDATE SET
			present = excluded.present, event_ts = excluded.event_ts, event_us = excluded.event_us
		WHERE excluded.event_us >= reaction_facts.event_us`
	deleteAnswerQuery = `DELETE FROM answers WHERE poll_id = ? AND user_id = ?`
	getAnswerQuery    = `SELECT answer FROM answers WHERE poll_id = ? AND user_id = ?`
	// presentFactsQuery lists a user's present option reactions (at most
	// one per option); deriveAnswer picks the top one in Go, which spares
	// SQLite a sorter per event.
	// expressionsQuery lists what a person's answer is derived from: their present option reactions
	// and their standing click (see click.go; a withdrawn one is a tombstone, no expression), each
	// with its time on Slack's clock.
	expressionsQuery = `
		SELECT position, event_us FROM reaction_facts
		WHERE poll_id = ?1 AND user_id = ?2 AND present = 1
		UNION ALL
		SELECT position, action_us FROM poll_clicks
		WHERE poll_id = ?1 AND user_id = ?2 AND NOT withdrawn`
	// upsertAnswerQuery touches the row (and answered_at) only when the
	// answer really changes, so RowsAffected says whether it did.
	upsertAnswerQuery = `
		INSERT INTO answers (poll_id, user_id, answer, answered_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (poll_id, user_id) DO UPDATE SET
			answer = excluded.answer, answered_at = excluded.answered_at
		WHERE answers.answer <> excluded.answer`
)

func (a *applier) poll(ctx context.Context, id int64) (*pollState, error) {
	if ps, ok := a.polls[id]; ok {
		return ps, nil
	}
	ps, err := loadPollState(ctx, a, id)
	if err != nil {
		return nil, err
	}
	a.polls[id] = ps
	return ps, nil
}

func (a *applier) apply(ctx context.Context, ev internbot.ReactionEvent) (internbot.ReactionResult, error) {
	ps, err := a.poll(ctx, ev.PollID)
	if err != nil {
		return internbot.ReactionResult{}, err
	}
	if !ps.exists {
		a.tx.db.log.Debug("reaction on unknown poll ignored", "poll", ev.PollID, "event", ev.EventID)
		return internbot.ReactionResult{Ignored: true}, nil
	}

	ts, us := ev.EventTS, a.tx.now.UnixMicro()
	var tsErr error
	if ts == "" {
		ts = internbot.FormatSlackTS(us)
	} else if us, tsErr = internbot.ParseSlackTS(ts); tsErr != nil {
		a.tx.db.log.Warn("reaction with bad event_ts ignored", "poll", ev.PollID, "event", ev.EventID, "err", tsErr)
	}
	position, isOption := ps.position[ev.Reaction]
	ignored := ps.closed || !isOption || tsErr != nil || ev.User == ""

	res, err := a.exec(ctx, insertEventQuery,
		ev.EventID, ev.PollID, ev.User, ev.Reaction, ev.Added, ts, us, a.tx.nowText, ignored)
	if err != nil {
		return internbot.ReactionResult{}, fmt.Errorf("log event: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return internbot.ReactionResult{}, err
	} else if n == 0 {
		answer, err := a.currentAnswer(ctx, ev.PollID, ev.User)
		return internbot.ReactionResult{Duplicate: true, Answer: answer}, err
	}
	if ignored {
		answer, err := a.currentAnswer(ctx, ev.PollID, ev.User)
		return internbot.ReactionResult{Ignored: true, Answer: answer}, err
	}

	res, err = a.exec(ctx, upsertFactQuery, ev.PollID, ev.User, ev.Reaction, position, ev.Added, ts, us)
	if err != nil {
		return internbot.ReactionResult{}, fmt.Errorf("update fact: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return internbot.ReactionResult{}, err
	} else if n == 0 {
		// Older than what we know: nothing changes.
		answer, err := a.currentAnswer(ctx, ev.PollID, ev.User)
		return internbot.ReactionResult{Answer: answer}, err
	}
	answer, _, err := a.deriveAnswer(ctx, ps, ev.PollID, ev.User)
	return internbot.ReactionResult{Answer: answer}, err
}

func (a *applier) currentAnswer(ctx context.Context, pollID int64, user string) (string, error) {
	s, err := a.stmt(ctx, getAnswerQuery)
	if err != nil {
		return "", err
	}
	var answer string
	err = s.QueryRowContext(ctx, pollID, user).Scan(&answer)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return answer, err
}

// topFact picks the answer's fact: the present option reaction or standing
// click with the greatest event time; ties go to the option listed first.
func (a *applier) topFact(ctx context.Context, pollID int64, user string) (position int, found bool, err error) {
	s, err := a.stmt(ctx, expressionsQuery)
	if err != nil {
		return 0, false, err
	}
	rows, err := s.QueryContext(ctx, pollID, user)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var bestUS int64
	for rows.Next() {
		var pos int
		var us int64
		if err := rows.Scan(&pos, &us); err != nil {
			return 0, false, err
		}
		if !found || us > bestUS || (us == bestUS && pos < position) {
			position, bestUS, found = pos, us, true
		}
	}
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	return position, found, nil
}

// deriveAnswer recomputes a user's answer from the facts and stores it;
// changed reports whether the stored answer changed.
func (a *applier) deriveAnswer(ctx context.Context, ps *pollState, pollID int64, user string) (answer string, changed bool, err error) {
	position, found, err := a.topFact(ctx, pollID, user)
	var res sql.Result
	switch {
	case err != nil:
		return "", false, fmt.Errorf("derive answer: %w", err)
	case !found:
		res, err = a.exec(ctx, deleteAnswerQuery, pollID, user)
	default:
		if position < 0 || position >= len(ps.answers) {
			return "", false, fmt.Errorf("derive answer: fact has option position %d of %d", position, len(ps.answers))
		}
		answer = ps.answers[position]
		res, err = a.exec(ctx, upsertAnswerQuery, pollID, user, answer, a.tx.nowText)
	}
	if err != nil {
		return "", false, fmt.Errorf("store answer: %w", err)
	}
	n, err := res.RowsAffected()
	return answer, n > 0, err
}

// ReconcilePoll makes the stored reactions of an open poll match present
// (option reaction → users who have it, e.g. from reactions.get after
// downtime), a snapshot Slack gave as of asOf (take it before the read; the
// zero time means now). It runs in one transaction and returns how many
// users' answers changed.
//
// Only the poll's option reactions are considered; an option reaction
// missing from present means nobody has it. A stored reaction absent from
// present is recorded as removed, and a reaction in present not stored
// locally is recorded as added at asOf (it happened while we were offline;
// its order is unknown). Newly discovered reactions therefore count as newer
// than the ones known before asOf; among several newly discovered for one
// user, the option listed first in the poll wins. Facts recorded by events
// at or after asOf raced the snapshot and are newer than it, so they are
// left alone. Reconciled changes are logged in reaction_events with source
// 'reconcile'. A closed poll returns ErrPollClosed.
func (db *DB) ReconcilePoll(ctx context.Context, pollID int64, present map[string][]string, asOf time.Time) (int, error) {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return 0, fmt.Errorf("reconcile poll %d: %w", pollID, err)
	}
	defer tx.Rollback()
	p, err := findPoll(ctx, tx, `id = ?`, pollID)
	if err != nil {
		return 0, fmt.Errorf("reconcile poll %d: %w", pollID, err)
	}
	if p.Closed() {
		return 0, fmt.Errorf("reconcile poll %d: %w", pollID, internbot.ErrPollClosed)
	}
	if asOf.IsZero() {
		asOf = tx.now
	}
	changed, err := reconcilePoll(ctx, tx, p, present, asOf.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("reconcile poll %d: %w", pollID, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("reconcile poll %d: %w", pollID, err)
	}
	return changed, nil
}

type fact struct {
	present bool
	us      int64
}

func reconcilePoll(ctx context.Context, tx *tx, p internbot.Poll, present map[string][]string, asOfUS int64) (int, error) {
	ps := newPollState(p)

	// want[user][position]: the option reactions Slack says the user has.
	want := map[string]map[int]bool{}
	for reaction, users := range present {
		pos, ok := ps.position[reaction]
		if !ok {
			continue
		}
		for _, u := range users {
			if u == "" {
				continue
			}
			if want[u] == nil {
				want[u] = map[int]bool{}
			}
			want[u][pos] = true
		}
	}
	have, err := loadFacts(ctx, tx, p.ID)
	if err != nil {
		return 0, err
	}

	users := make([]string, 0, len(want)+len(have))
	for u := range want {
		users = append(users, u)
	}
	for u := range have {
		if want[u] == nil {
			users = append(users, u)
		}
	}
	slices.Sort(users)

	a := newApplier(tx)
	defer a.close()

	ts := internbot.FormatSlackTS(asOfUS)
	changedUsers := 0
	for _, u := range users {
		type change struct {
			pos   int
			added bool
		}
		var changes []change
		for pos, f := range have[u] {
			if f.us < asOfUS && f.present && !want[u][pos] {
				changes = append(changes, change{pos, false})
			}
		}
		for pos := range want[u] {
			if f, ok := have[u][pos]; !ok || (f.us < asOfUS && !f.present) {
				changes = append(changes, change{pos, true})
			}
		}
		if len(changes) == 0 {
			continue
		}
		for _, c := range changes {
			reaction := p.Options[c.pos].Reaction
			if _, err := a.exec(ctx, setFactQuery, p.ID, u, reaction, c.pos, c.added, ts, asOfUS); err != nil {
				return 0, fmt.Errorf("set fact: %w", err)
			}
			if _, err := a.exec(ctx, logReconcileQuery, p.ID, u, reaction, c.added, ts, asOfUS, tx.nowText); err != nil {
				return 0, fmt.Errorf("log event: %w", err)
			}
		}
		_, changed, err := a.deriveAnswer(ctx, ps, p.ID, u)
		if err != nil {
			return 0, err
		}
		if changed {
			changedUsers++
		}
	}
	return changedUsers, nil
}

const (
	// setFactQuery is unconditional: the caller checked the fact is older
	// than the snapshot.
	setFactQuery = `
		INSERT INTO reaction_facts (poll_id, user_id, reaction, position, present, event_ts, event_us)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (poll_id, user_id, reaction) DO UPDATE SET
			present = excluded.present, event_ts = excluded.event_ts, event_us = excluded.event_us`
	logReconcileQuery = `
		INSERT INTO reaction_events
			(event_id, poll_id, user_id, reaction, added, event_ts, event_us, received_at, source)
		VALUES ('', ?, ?, ?, ?, ?, ?, ?, 'reconcile')`
)

func loadFacts(ctx context.Context, q querier, pollID int64) (map[string]map[int]fact, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT user_id, position, present, event_us FROM reaction_facts WHERE poll_id = ?`, pollID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	facts := map[string]map[int]fact{}
	for rows.Next() {
		var (
			user string
			pos  int
			f    fact
		)
		if err := rows.Scan(&user, &pos, &f.present, &f.us); err != nil {
			return nil, err
		}
		if facts[user] == nil {
			facts[user] = map[int]fact{}
		}
		facts[user][pos] = f
	}
	return facts, rows.Err()
}

// Counts returns answer → number of users currently giving it.
func (db *DB) Counts(ctx context.Context, pollID int64) (map[string]int, error) {
	if err := pollExists(ctx, db.db, pollID); err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	rows, err := db.db.QueryContext(ctx,
		`SELECT answer, count(*) FROM answers WHERE poll_id = ? GROUP BY answer`, pollID)
	if err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var (
			answer string
			n      int
		)
		if err := rows.Scan(&answer, &n); err != nil {
			return nil, fmt.Errorf("counts: %w", err)
		}
		counts[answer] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	return counts, nil
}

// Answers returns the current answers on a poll, sorted by user id.
func (db *DB) Answers(ctx context.Context, pollID int64) ([]internbot.Answer, error) {
	if err := pollExists(ctx, db.db, pollID); err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	as, err := findAnswers(ctx, db.db, `a.poll_id = ?`, pollID)
	if err != nil {
		return nil, fmt.Errorf("answers: %w", err)
	}
	return as, nil
}

// AnswerOf returns a user's current answer on a poll, or ErrNotFound.
func (db *DB) AnswerOf(ctx context.Context, pollID int64, user string) (internbot.Answer, error) {
	as, err := findAnswers(ctx, db.db, `a.poll_id = ? AND a.user_id = ?`, pollID, user)
	if err != nil {
		return internbot.Answer{}, fmt.Errorf("answer of %s: %w", user, err)
	}
	if len(as) == 0 {
		return internbot.Answer{}, fmt.Errorf("answer of %s on poll %d: %w", user, pollID, internbot.ErrNotFound)
	}
	return as[0], nil
}

// ExportAnswers returns the current answers of one poll, or of every poll
// when pollID is 0: polls in creation order, then users by id.
func (db *DB) ExportAnswers(ctx context.Context, pollID int64) ([]internbot.Answer, error) {
	if pollID == 0 {
		as, err := findAnswers(ctx, db.db, `1`)
		if err != nil {
			return nil, fmt.Errorf("export answers: %w", err)
		}
		return as, nil
	}
	if err := pollExists(ctx, db.db, pollID); err != nil {
		return nil, fmt.Errorf("export answers: %w", err)
	}
	as, err := findAnswers(ctx, db.db, `a.poll_id = ?`, pollID)
	if err != nil {
		return nil, fmt.Errorf("export answers: %w", err)
	}
	return as, nil
}

func findAnswers(ctx context.Context, q querier, where string, args ...any) ([]internbot.Answer, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT a.poll_id, p.channel, p.ts, a.user_id, a.answer, a.answered_at
		FROM answers a JOIN polls p ON p.id = a.poll_id
		WHERE `+where+`
		ORDER BY a.poll_id, a.user_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []internbot.Answer
	for rows.Next() {
		var (
			a  internbot.Answer
			at string
		)
		if err := rows.Scan(&a.PollID, &a.Channel, &a.TS, &a.User, &a.Answer, &at); err != nil {
			return nil, err
		}
		if a.AnsweredAt, err = parseTime(at); err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, rows.Err()
}

// ForgetUser deletes everything stored about a user: reaction facts and
// events (the raw log, with their event ids), answers, preferences and DM
// bookkeeping; polls and deadlines the user created lose their CreatedBy.
// The bytes go too: secure_delete zeroes the deleted cells and freed pages,
// and a TRUNCATE checkpoint empties the WAL of the page images that held
// them (retried by the checkpointer if readers block it for long).
func (db *DB) ForgetUser(ctx context.Context, user string) error {
	if user == "" {
		return fmt.Errorf("forget user: empty user: %w", internbot.ErrInvalid)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("forget user: %w", err)
	}
	defer tx.Rollback()
	if err := forgetUser(ctx, tx, user); err != nil {
		return fmt.Errorf("forget user: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("forget user: %w", err)
	}
	db.scrubWAL(ctx)
	return nil
}

func forgetUser(ctx context.Context, tx *tx, user string) error {
	for _, table := range []string{"reaction_facts", "reaction_events", "poll_clicks", "click_events", "answers", "prefs", "dms", "dm_channels"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = ?`, user); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	for _, table := range []string{"polls", "deadlines"} {
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET created_by = '' WHERE created_by = ?`, user); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	return nil
}

// NewestEventTS returns the newest Slack event_ts (as a time) among the stored reaction facts, or the
// zero time if there are none. The bot uses it as a floor for reconciliation snapshots, so that a
// local clock behind Slack's cannot make a snapshot look older than facts it has already seen.
func (db *DB) NewestEventTS(ctx context.Context) (time.Time, error) {
	var us sql.NullInt64
	if err := db.db.QueryRowContext(ctx, `SELECT max(event_us) FROM reaction_facts`).Scan(&us); err != nil {
		return time.Time{}, fmt.Errorf("newest event: %w", err)
	}
	if !us.Valid {
		return time.Time{}, nil
	}
	return time.UnixMicro(us.Int64), nil
}

// ClampFutureFacts moves every reaction fact stamped after limit back to limit and derives the answers
// of the users concerned again, in one transaction; it returns how many facts moved. A fact that far
// ahead came from an event_ts no clock vouches for (the year 2100, say): left alone it would outrank
// every real event of that user for good, since only newer facts replace a fact. At limit it still
// outranks what came before it, and anything that happens after limit wins over it.
func (db *DB) ClampFutureFacts(ctx context.Context, limit time.Time) (int, error) {
	tx, err := db.beginTx(ctx)
	if err != nil {
		return 0, fmt.Errorf("clamp future facts: %w", err)
	}
	defer tx.Rollback()
	n, err := clampFutureFacts(ctx, tx, limit.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("clamp future facts: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("clamp future facts: %w", err)
	}
	return n, nil
}

func clampFutureFacts(ctx context.Context, tx *tx, limitUS int64) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT poll_id, user_id FROM reaction_facts WHERE event_us > ?`, limitUS)
	if err != nil {
		return 0, err
	}
	type pollUser struct {
		poll int64
		user string
	}
	var affected []pollUser
	for rows.Next() {
		var pu pollUser
		if err := rows.Scan(&pu.poll, &pu.user); err != nil {
			rows.Close()
			return 0, err
		}
		affected = append(affected, pu)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(affected) == 0 {
		return 0, nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE reaction_facts SET event_ts = ?, event_us = ? WHERE event_us > ?`,
		internbot.FormatSlackTS(limitUS), limitUS, limitUS)
	if err != nil {
		return 0, err
	}
	moved, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	a := newApplier(tx)
	defer a.close()
	for _, pu := range affected {
		ps, err := a.poll(ctx, pu.poll)
		if err != nil {
			return 0, err
		}
		if _, _, err := a.deriveAnswer(ctx, ps, pu.poll, pu.user); err != nil {
			return 0, err
		}
	}
	return int(moved), nil
}
