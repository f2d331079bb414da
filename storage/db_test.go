package storage_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/storage"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "internbot.db")
		for range 3 { // migrations are applied once, and reopening is idempotent
			db, err := storage.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		}
		raw := rawDB(t, path)
		files, _ := filepath.Glob("migration/*.sql")
		if n := count(t, raw, `SELECT count(*) FROM migrations`); n != len(files) {
			t.Errorf("%d migrations recorded, want %d (one per file)", n, len(files))
		}
		if n := count(t, raw, `SELECT count(*) FROM migrations WHERE name = '0001_init.sql'`); n != 1 {
			t.Errorf("0001_init.sql recorded %d times", n)
		}
	})

	t.Run("WAL", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "internbot.db")
		MustOpenDBAt(t, path)
		var mode string
		if err := rawDB(t, path).QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" {
			t.Errorf("journal_mode = %q, want wal", mode)
		}
	})

	t.Run("PathNeedsEscaping", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a dir?x=1#frag%20")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "my%db?.db")
		db, _ := MustOpenDBAt(t, path)
		mustCreatePoll(t, db)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("database not at its path: %v", err)
		}
		entries, _ := os.ReadDir(filepath.Dir(dir))
		if len(entries) != 1 {
			t.Errorf("stray files next to the directory: %v", entries)
		}
	})

	for _, mode := range []string{"wal", "delete"} {
		t.Run("ErrSchemaTooNew/"+mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "internbot.db")
			db, _ := MustOpenDBAt(t, path)
			db.Close()
			raw := rawDB(t, path)
			if _, err := raw.Exec(`INSERT INTO migrations (name, applied_at) VALUES ('0004_x.sql', 'later')`); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`PRAGMA journal_mode = ` + mode); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			before := snapshot(t, path)

			_, err := storage.Open(ctx, path)
			if !errors.Is(err, storage.ErrSchemaTooNew) {
				t.Fatalf("err = %v, want ErrSchemaTooNew", err)
			}
			if want := "database schema is newer than this internbot (has 0004_x.sql): upgrade internbot"; !strings.Contains(err.Error(), want) {
				t.Errorf("err = %q, want it to contain %q", err, want)
			}
			if after := snapshot(t, path); after != before {
				t.Errorf("file changed: size %d -> %d, mtime %v -> %v", before.size, after.size, before.mtime, after.mtime)
			}
			assertOnlyFile(t, path)
		})
	}

	t.Run("ErrNotADatabase", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "notes.txt")
		garbage := bytes.Repeat([]byte("these are my notes, not a database\n"), 200)
		if err := os.WriteFile(path, garbage, 0o644); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, path)
		_, err := storage.Open(ctx, path)
		if err == nil || !strings.Contains(err.Error(), "not a SQLite database") || !strings.Contains(err.Error(), "file is not a database") {
			t.Fatalf("err = %v, want a clear not-a-database error", err)
		}
		if after := snapshot(t, path); after != before {
			t.Errorf("file changed")
		}
		assertOnlyFile(t, path)
	})

	t.Run("ErrForeignDatabase", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "other.db")
		raw := rawDB(t, path)
		if _, err := raw.Exec(`CREATE TABLE recipes (name TEXT)`); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		before := snapshot(t, path)
		if _, err := storage.Open(ctx, path); err == nil || !strings.Contains(err.Error(), "not an internbot database") {
			t.Fatalf("err = %v, want not an internbot database", err)
		}
		if after := snapshot(t, path); after != before {
			t.Errorf("file changed")
		}
		assertOnlyFile(t, path)
	})

	t.Run("ErrEmptyPath", func(t *testing.T) {
		if _, err := storage.Open(ctx, ""); !errors.Is(err, internbot.ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
	})
}

// assertOnlyFile checks that a refused open left no -wal or -shm behind.
func assertOnlyFile(t *testing.T, path string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != filepath.Base(path) {
			t.Errorf("refused open left %s behind", e.Name())
		}
	}
}

type fileState struct {
	sum   string
	size  int64
	mtime time.Time
}

func snapshot(t *testing.T, path string) fileState {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{sum: string(b), size: fi.Size(), mtime: fi.ModTime()}
}

func TestCheckWritable(t *testing.T) {
	db, _ := MustOpenDB(t)
	ctx := context.Background()
	if err := db.CheckWritable(ctx); err != nil {
		t.Fatal(err)
	}
	// The probe leaves nothing behind and does not hold the write slot.
	mustCreatePoll(t, db)
	if err := db.CheckWritable(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		fixed := mustCreatePoll(t, db)
		busy := mustCreatePoll(t, db)
		for i, u := range []string{"U3", "U1", "U2"} {
			mustApply(t, db, internbot.ReactionEvent{PollID: fixed.ID, User: u, Reaction: testOptions[i].Reaction, Added: true, EventTS: ts(i)})
		}
		want, err := db.Answers(ctx, fixed.ID)
		if err != nil {
			t.Fatal(err)
		}

		// Another goroutine keeps writing while the backup runs.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ev := internbot.ReactionEvent{EventID: fmt.Sprintf("Ev%d", i), PollID: busy.ID, User: fmt.Sprintf("W%04d", i),
					Reaction: testOptions[i%3].Reaction, Added: true, EventTS: ts(i)}
				if _, err := db.ApplyReactions(ctx, []internbot.ReactionEvent{ev}); err != nil {
					t.Error(err)
					return
				}
			}
		})
		time.Sleep(20 * time.Millisecond) // let the writer get going; not waiting on a schedule
		dst := filepath.Join(t.TempDir(), "backup.db")
		err = db.Backup(ctx, dst)
		close(stop)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}

		copyDB, _ := MustOpenDBAt(t, dst)
		got, err := copyDB.Answers(ctx, fixed.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("backup answers = %+v, want %+v", got, want)
		}
		// The busy poll is a consistent snapshot: counts agree with answers.
		answers, err := copyDB.Answers(ctx, busy.ID)
		if err != nil {
			t.Fatal(err)
		}
		counts, err := copyDB.Counts(ctx, busy.ID)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		if total != len(answers) {
			t.Errorf("backup counts total %d, answers %d", total, len(answers))
		}
		t.Logf("backup caught %d answers of the busy poll", len(answers))
	})

	t.Run("ErrExist", func(t *testing.T) {
		db, _ := MustOpenDB(t)
		dst := filepath.Join(t.TempDir(), "backup.db")
		if err := os.WriteFile(dst, []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := db.Backup(ctx, dst); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("err = %v, want fs.ErrExist", err)
		}
		if b, _ := os.ReadFile(dst); string(b) != "precious" {
			t.Errorf("dst overwritten")
		}
	})
}

// TestConcurrentApplyReactions runs writers from several goroutines (run it
// with -race) and checks nothing is lost.
func TestConcurrentApplyReactions(t *testing.T) {
	db, _ := MustOpenDB(t)
	ctx := context.Background()
	p := mustCreatePoll(t, db)
	const workers, batches, size = 8, 20, 16
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for b := range batches {
				events := make([]internbot.ReactionEvent, size)
				for i := range events {
					n := (b*size + i)
					events[i] = internbot.ReactionEvent{
						EventID: fmt.Sprintf("E%d-%d", w, n), PollID: p.ID, User: fmt.Sprintf("U%d-%04d", w, n),
						Reaction: testOptions[n%3].Reaction, Added: true, EventTS: ts(n),
					}
				}
				if _, err := db.ApplyReactions(ctx, events); err != nil {
					t.Error(err)
					return
				}
				if _, err := db.Counts(ctx, p.ID); err != nil { // readers alongside
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	counts, err := db.Counts(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if total := counts["yes"] + counts["maybe"] + counts["no"]; total != workers*batches*size {
		t.Errorf("answers = %d (%v), want %d", total, counts, workers*batches*size)
	}
}

// TestReadFromSecondProcess exports from another process while this one
// writes: WAL readers never wait for the writer, and never see half a batch.
func TestReadFromSecondProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	path := filepath.Join(t.TempDir(), "internbot.db")
	db, _ := MustOpenDBAt(t, path)
	p := mustCreatePoll(t, db)
	const batches, size = 200, 8

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperExport$", "-test.v")
	cmd.Env = append(os.Environ(),
		"INTERNBOT_STORAGE_HELPER="+path,
		"INTERNBOT_STORAGE_HELPER_WANT="+strconv.Itoa(batches*size))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() && lines.Text() != "ready" {
	}

	for i := range batches {
		events := make([]internbot.ReactionEvent, size)
		for j := range events {
			n := i*size + j
			events[j] = internbot.ReactionEvent{PollID: p.ID, User: fmt.Sprintf("U%06d", n), Reaction: "x", Added: true, EventTS: ts(n)}
		}
		mustApply(t, db, events...)
	}

	var out []string
	for lines.Scan() {
		out = append(out, lines.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("reader process: %v\n%s\n%s", err, strings.Join(out, "\n"), stderr.String())
	}
	for _, l := range out {
		if strings.HasPrefix(l, "exports ") {
			t.Log("reader:", l)
		}
	}
}

// TestHelperExport is the second process of TestReadFromSecondProcess: it
// exports until it sees every answer written.
func TestHelperExport(t *testing.T) {
	path := os.Getenv("INTERNBOT_STORAGE_HELPER")
	if path == "" {
		t.Skip("helper process only")
	}
	want, _ := strconv.Atoi(os.Getenv("INTERNBOT_STORAGE_HELPER_WANT"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := storage.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fmt.Println("ready")
	prev, exports, partial := 0, 0, 0
	for prev < want {
		as, err := db.ExportAnswers(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		exports++
		if len(as) < prev {
			t.Fatalf("export shrank from %d to %d", prev, len(as))
		}
		if len(as)%8 != 0 {
			t.Fatalf("export saw half a batch: %d answers", len(as))
		}
		if !slices.IsSortedFunc(as, func(a, b internbot.Answer) int { return strings.Compare(a.User, b.User) }) {
			t.Fatal("export not sorted")
		}
		if len(as) > 0 && len(as) < want {
			partial++
		}
		prev = len(as)
	}
	fmt.Printf("exports %d, %d of them while writes were under way\n", exports, partial)
}
