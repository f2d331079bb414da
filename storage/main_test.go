package storage_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/storage"
)

// Clock is a controllable clock for WithNow.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

func NewClock() *Clock {
	return &Clock{t: time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)}
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *Clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// MustOpenDB opens a new database in a temporary directory; it is closed
// when the test ends.
func MustOpenDB(tb testing.TB) (*storage.DB, *Clock) {
	tb.Helper()
	return MustOpenDBAt(tb, filepath.Join(tb.TempDir(), "internbot.db"))
}

// MustOpenDBAt opens the database at path with a new clock.
func MustOpenDBAt(tb testing.TB, path string) (*storage.DB, *Clock) {
	tb.Helper()
	clock := NewClock()
	db, err := storage.Open(context.Background(), path, storage.WithNow(clock.Now))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db, clock
}

// rawDB opens the file with the driver directly, to look behind the API.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	return raw
}

func count(tb testing.TB, raw *sql.DB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := raw.QueryRow(query, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

var testOptions = []internbot.PollOption{
	{Reaction: "white_check_mark", Answer: "yes"},
	{Reaction: "thinking_face", Answer: "maybe"},
	{Reaction: "x", Answer: "no"},
}

var pollSeq int
var pollSeqMu sync.Mutex

// mustCreatePoll creates an open poll with testOptions in channel C1.
func mustCreatePoll(tb testing.TB, db *storage.DB) internbot.Poll {
	tb.Helper()
	pollSeqMu.Lock()
	pollSeq++
	ts := fmt.Sprintf("1700000000.%06d", pollSeq)
	pollSeqMu.Unlock()
	p, err := db.CreatePoll(context.Background(), internbot.Poll{
		Channel: "C1", TS: ts, Question: "Would you apply?", CreatedBy: "UADMIN", Options: testOptions,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// ts returns a Slack timestamp n microseconds after a fixed second.
func ts(n int) string { return fmt.Sprintf("1710000000.%06d", n) }

func mustApply(tb testing.TB, db *storage.DB, events ...internbot.ReactionEvent) []internbot.ReactionResult {
	tb.Helper()
	rs, err := db.ApplyReactions(context.Background(), events)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}
