package storage

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestDataSourceName(t *testing.T) {
	const params = "?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate&_secure_delete=on"
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
		if err := conns[i].QueryRowContext(ctx, `PRAGMA journal_size_limit`).Scan(&n); err != nil || n != walCapBytes {
			t.Fatalf("connection %d: journal_size_limit = %d, %v; want %d", i, n, err, walCapBytes)
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

// TestForgetScrubWaitsForReaders: a reader holding a snapshot (as Litestream does all the time) keeps
// ForgetUser's TRUNCATE checkpoint from completing; the user's bytes stay in the WAL until the reader
// lets go, and then the checkpointer's retry (on the injected clock's backoff) empties the WAL.
func TestForgetScrubWaitsForReaders(t *testing.T) {
	ctx := context.Background()
	ticks := make(chan time.Time)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := Open(ctx, path, func(db *DB) { db.checkpointTicks = ticks; db.now = clock })
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tick := func() { ticks <- time.Time{}; ticks <- time.Time{} }
	const who = "U0SCRUBME"
	if err := db.SetRemindersOff(ctx, who, true); err != nil {
		t.Fatal(err)
	}
	walHits := func() int {
		b, err := os.ReadFile(path + "-wal")
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return bytes.Count(b, []byte(who))
	}
	if walHits() == 0 {
		t.Fatal("the user is not in the WAL before forget: not the test this means")
	}

	reader, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	rtx, err := reader.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := rtx.QueryRow(`SELECT count(*) FROM prefs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := db.ForgetUser(ctx, who); err != nil {
		t.Fatal(err)
	}
	if !db.scrub.Load() {
		t.Fatal("the scrub is not pending although a reader blocked the TRUNCATE")
	}
	tick()
	if !db.scrub.Load() {
		t.Fatal("the scrub completed while the reader still held its snapshot")
	}
	rtx.Rollback()
	tick() // backoff: not yet
	if !db.scrub.Load() {
		t.Fatal("the checkpointer retried before its backoff ran out")
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	tick()
	if db.scrub.Load() {
		t.Fatal("the scrub is still pending with no reader left")
	}
	if n := walHits(); n != 0 {
		t.Errorf("the user id is in the WAL %d times after the scrub", n)
	}
}

// TestForgetScrubSurvivesACrash: a scrub still pending (a reader blocked the TRUNCATE) when the process
// dies is not lost with it: the WAL it leaves, with frames from before the forget, is truncated by the
// next process.
func TestForgetScrubSurvivesACrash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	db, err := Open(ctx, path, func(db *DB) { db.checkpointTicks = make(chan time.Time) })
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const who = "U0SCRUBME"
	if err := db.SetRemindersOff(ctx, who, true); err != nil {
		t.Fatal(err)
	}
	reader, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	rtx, err := reader.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rtx.Rollback()
	var n int
	if err := rtx.QueryRow(`SELECT count(*) FROM prefs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := db.ForgetUser(ctx, who); err != nil {
		t.Fatal(err)
	}
	if !db.scrub.Load() {
		t.Fatal("the scrub is not pending although a reader blocked the TRUNCATE: not the test this means")
	}
	// The crash: the files as they are on disk now, opened by a new process.
	crashed := filepath.Join(dir, "crashed.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	walHits := func() int {
		b, err := os.ReadFile(crashed + "-wal")
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return bytes.Count(b, []byte(who))
	}
	if walHits() == 0 {
		t.Fatal("the user is not in the crashed WAL: not the test this means")
	}
	// Another process keeps the file open across the restart (Litestream does, with a read
	// transaction most of the time), so the WAL is not checkpointed and removed with the last close.
	other, err := sql.Open("sqlite3", "file:"+crashed+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	otx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := otx.QueryRow(`SELECT count(*) FROM prefs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	ticks := make(chan time.Time)
	db2, err := Open(ctx, crashed, func(db *DB) { db.checkpointTicks = ticks })
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	otx.Rollback() // the other process moves on, keeping its connection
	ticks <- time.Time{}
	ticks <- time.Time{} // the first tick has been handled
	if n := walHits(); n != 0 {
		t.Errorf("the user id is in the WAL %d times after the restart's first checkpoint", n)
	}
}
