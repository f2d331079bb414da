package storage

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

func TestDataSourceName(t *testing.T) {
	const params = "?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate"
	for _, tt := range []struct{ path, want string }{
		{"/var/lib/internbot/internbot.db", "file:/var/lib/internbot/internbot.db" + params},
		{"/tmp/a b/x.db", "file:/tmp/a b/x.db" + params},
		{"/tmp/a?b#c%d.db", "file:/tmp/a%3Fb%23c%25d.db" + params},
		{"//srv/x.db", "file:/srv/x.db" + params},
	} {
		got, err := dataSourceName(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("dataSourceName(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	rel, err := dataSourceName("internbot.db")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("internbot.db")
	if rel != "file:"+abs+params {
		t.Errorf("relative path: %q", rel)
	}
}

func TestParseSlackTS(t *testing.T) {
	for _, tt := range []struct {
		ts   string
		want int64
		ok   bool
	}{
		{"1712345678.123456", 1712345678_123456, true},
		{"1000.5", 1000_500000, true},
		{"1000.25", 1000_250000, true},
		{"1000", 1000_000000, true},
		{"1000.1234567", 1000_123456, true},
		{"", 0, false},
		{".5", 0, false},
		{"12a.5", 0, false},
		{"1.-5", 0, false},
		{"-1.5", 0, false},
		{"1234567890123.0", 0, false},
	} {
		got, err := ParseSlackTS(tt.ts)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSlackTS(%q) = %d, %v; want %d, ok=%v", tt.ts, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseSlackTS(f *testing.F) {
	for _, s := range []string{"1712345678.123456", "1.5", "", "9.", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		us, err := ParseSlackTS(s)
		if err != nil {
			return
		}
		if us < 0 {
			t.Fatalf("ParseSlackTS(%q) = %d < 0", s, us)
		}
		back, err := ParseSlackTS(formatSlackTS(us))
		if err != nil || back != us {
			t.Fatalf("round trip of %q: %d -> %q -> %d, %v", s, us, formatSlackTS(us), back, err)
		}
	})
}

// TestCheckpointOffTheCommitPath checks that no connection checkpoints inside a commit and that the
// background checkpointer does the work after writes, and only then.
func TestCheckpointOffTheCommitPath(t *testing.T) {
	ctx := context.Background()
	ticks := make(chan time.Time)
	db, err := Open(ctx, filepath.Join(t.TempDir(), "x.db"), func(db *DB) { db.checkpointTicks = ticks })
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// tick hands the checkpointer two ticks: once the second is taken, the first has been handled.
	tick := func() { ticks <- time.Time{}; ticks <- time.Time{} }

	// Every pooled connection, not just one, has the automatic checkpoint off.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		if conns[i], err = db.db.Conn(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conns[i].QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("connection %d: wal_autocheckpoint = %d, %v; want 0", i, n, err)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	tick() // the migrations' writes get their checkpoint
	base := db.checkpoints.Load()
	if base != 1 {
		t.Fatalf("%d checkpoints after the migrations, want 1", base)
	}
	tick()
	tick()
	if n := db.checkpoints.Load(); n != base {
		t.Fatalf("%d checkpoints with nothing written", n-base)
	}
	if err := db.SetRemindersOff(ctx, "U1", true); err != nil {
		t.Fatal(err)
	}
	tick()
	if n := db.checkpoints.Load(); n != base+1 {
		t.Fatalf("%d checkpoints after a write, want 1", n-base)
	}
}
