// Package export writes the poll answers as CSV, for `internbot export` and for anything else that
// hands an admin the answers (a later in-Slack export uploads the same bytes). It owns the columns and
// the escaping that keeps a spreadsheet from running a cell as a formula.
//
// It reads through the Store it declares and imports only the domain package (internbot); it must
// not import storage, bot, remind or slack-go.
package export

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/internbot/internbot"
)

// Store is what CSV reads. *storage.DB implements it.
type Store interface {
	PollByMessage(ctx context.Context, channel, ts string) (internbot.Poll, error)
	Polls(ctx context.Context) ([]internbot.Poll, error)
	ExportAnswers(ctx context.Context, pollID int64) ([]internbot.Answer, error)
}

// PollRef names one poll by its message, as CHANNEL/TS. The zero PollRef means every poll.
type PollRef struct{ Channel, TS string }

// ParsePollRef parses "C0123/1700000000.000100"; "" is every poll.
func ParsePollRef(s string) (PollRef, error) {
	if s == "" {
		return PollRef{}, nil
	}
	ch, ts, ok := strings.Cut(s, "/")
	if _, err := internbot.ParseSlackTS(ts); !ok || ch == "" || err != nil {
		return PollRef{}, fmt.Errorf("-poll: %q is not CHANNEL/TS (like C0123ABCD/1700000000.000100)", s)
	}
	return PollRef{Channel: ch, TS: ts}, nil
}

// Header is the CSV header CSV writes.
var Header = []string{"poll_channel", "poll_ts", "user_id", "answer", "answered_at"}

// CSV writes one row per person with a current answer: polls in creation order, people by
// user id, answered_at in RFC 3339 UTC. Cells a spreadsheet would run as a formula are escaped.
// An anonymous poll gives counts only: its rows have no user_id and no answered_at (either could
// name someone), and are sorted by answer, so the order gives nobody away either.
func CSV(ctx context.Context, s Store, ref PollRef, w io.Writer) error {
	var pollID int64
	if ref != (PollRef{}) {
		p, err := s.PollByMessage(ctx, ref.Channel, ref.TS)
		if errors.Is(err, internbot.ErrNotFound) {
			return fmt.Errorf("export: no poll %s/%s in this database", ref.Channel, ref.TS)
		} else if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		pollID = p.ID
	}
	answers, err := s.ExportAnswers(ctx, pollID)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := anonymize(ctx, s, answers); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, a := range answers {
		at := ""
		if !a.AnsweredAt.IsZero() {
			at = a.AnsweredAt.UTC().Format(time.RFC3339)
		}
		row := []string{a.Channel, a.TS, a.User, a.Answer, at}
		for i := range row {
			row[i] = csvSafe(row[i])
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// csvSafe defuses spreadsheet formula injection (OWASP's advice): a cell that starts with = + - @
// or a tab or carriage return gets a leading apostrophe.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// anonymize strips who and when from the answers of anonymous polls and sorts them by answer.
// Answers come grouped by poll.
func anonymize(ctx context.Context, s Store, answers []internbot.Answer) error {
	if len(answers) == 0 {
		return nil
	}
	polls, err := s.Polls(ctx)
	if err != nil {
		return err
	}
	anonymous := map[int64]bool{}
	for _, p := range polls {
		anonymous[p.ID] = p.Anonymous
	}
	for i := 0; i < len(answers); {
		j := i
		for j < len(answers) && answers[j].PollID == answers[i].PollID {
			j++
		}
		if anonymous[answers[i].PollID] {
			seg := answers[i:j]
			for k := range seg {
				seg[k].User, seg[k].AnsweredAt = "", time.Time{}
			}
			slices.SortStableFunc(seg, func(a, b internbot.Answer) int { return strings.Compare(a.Answer, b.Answer) })
		}
		i = j
	}
	return nil
}
