package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/internbot/internbot"
	"github.com/mattn/go-sqlite3"
)

// ErrSchemaTooNew means the database records a migration this binary does not know.
var ErrSchemaTooNew = errors.New("database schema is newer than this internbot")

//go:embed migration/*.sql
var migrationFS embed.FS

// Option configures a DB in Open.
type Option func(*DB)

// WithNow sets the clock used for every stored time (tests control time with it).
func WithNow(now func() time.Time) Option {
	return func(db *DB) { db.now = now }
}

// WithLogger sets the logger; the DB adds component=storage.
func WithLogger(l *slog.Logger) Option {
	return func(db *DB) { db.log = l }
}

// driverName is go-sqlite3 with one change to every connection: SQLite's automatic WAL checkpoint is
// off. Left on, it runs inside whichever writer's commit crosses 1000 pages, copying pages and
// fsyncing the database file: about 10 ms, the whole p99 of an ack under load. DB checkpoints from
// its own goroutine instead, off the commit path. (A connect hook, like the DSN, reaches every
// connection in the pool; a one-off db.Exec would reach one.)
const driverName = "sqlite3_internbot"

// The hook also caps the WAL file: journal_size_limit truncates it back to walCapBytes whenever it is
// restarted after a complete checkpoint (the DSN has no parameter for it).
func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %d", walCapBytes), nil)
		return err
	}})
}

// walCapBytes caps the WAL: the file is truncated back to it when it restarts, and when a checkpoint
// leaves more than this in it (readers kept it from completing), the checkpointer forces a TRUNCATE
// checkpoint. 16 MiB is about four seconds of the load test's writes.
const walCapBytes = 16 << 20

// truncateBusy is how long a TRUNCATE checkpoint waits for readers and other processes' writers
// (SQLite's busy handler, on the checkpointer's own connection) before it gives up for this attempt:
// it holds the write lock meanwhile, so it must be short.
const truncateBusy = 50 * time.Millisecond

// DB is the internbot database. It is safe for concurrent use.
type DB struct {
	db   *sql.DB
	ckpt *sql.DB // one connection, with a short busy timeout, for TRUNCATE checkpoints
	path string
	now  func() time.Time
	log  *slog.Logger

	checkpointEvery time.Duration    // how often the WAL is checkpointed after writes
	checkpointTicks <-chan time.Time // nil: a ticker every checkpointEvery (tests inject ticks)
	commits         atomic.Int64     // write transactions committed, so idle time costs no checkpoints
	checkpoints     atomic.Int64     // checkpoints run, for tests
	pageSize        int64
	// scrub is set when the WAL must be truncated and could not be at once (deleted data may still
	// be in old frames after ForgetUser, or the WAL is over its cap): the checkpointer keeps trying,
	// with backoff, until a TRUNCATE completes.
	scrub      atomic.Bool
	scrubAfter time.Time // next attempt; only the checkpointer reads and writes it
	scrubWait  time.Duration
	// ckptErr is the last checkpoint's failure (nil after one succeeds), for the readiness probe.
	ckptErr         atomic.Pointer[error]
	stopCheckpoints context.CancelFunc
	checkpointsDone chan struct{}

	// writeSem serializes this process's write transactions, so that they
	// queue in Go (honouring ctx) instead of in SQLite's busy handler, which
	// polls with sleeps. Other processes still meet _busy_timeout.
	writeSem chan struct{}

	// stmts are the write path's statements, prepared once and kept: database/sql prepares each on
	// a connection the first time a transaction there uses it, and reuses it after that, where
	// preparing in each transaction costs a parse of the SQL every time.
	stmtsMu sync.Mutex
	stmts   map[string]*sql.Stmt
}

// prepared is query prepared on the pool, once for the DB's life; Close closes it.
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	db.stmtsMu.Lock()
	defer db.stmtsMu.Unlock()
	if s, ok := db.stmts[query]; ok {
		return s, nil
	}
	s, err := db.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if db.stmts == nil {
		db.stmts = make(map[string]*sql.Stmt)
	}
	db.stmts[query] = s
	return s, nil
}

// Open opens (creating if needed) the SQLite database at path, checks it
// really is in WAL mode, refuses a schema newer than this binary and applies
// the embedded migrations that are missing.
//
// A file that is not a SQLite database, or a database whose schema is newer
// (ErrSchemaTooNew), is refused without being modified.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("open db: empty path: %w", internbot.ErrInvalid)
	}
	db := &DB{
		path:     path,
		now:      time.Now,
		log:      slog.New(slog.DiscardHandler),
		writeSem: make(chan struct{}, 1),

		checkpointEvery: time.Second,
	}
	for _, opt := range opts {
		opt(db)
	}
	db.log = db.log.With("component", "storage")

	dsn, err := dataSourceName(path)
	if err != nil {
		return nil, fmt.Errorf("open db %s: %w", path, err)
	}
	// A WAL left by a process that did not close (a crash, a kill, or another process such as
	// Litestream keeping the file open) may hold frames from before a ForgetUser whose scrub was still
	// pending: truncate it as that process would have.
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		db.scrub.Store(true)
	}
	if db.db, err = sql.Open(driverName, dsn); err != nil {
		return nil, fmt.Errorf("open db %s: %w", path, err)
	}
	ckptDSN, _ := checkpointDSN(path)
	if db.ckpt, err = sql.Open(driverName, ckptDSN); err != nil {
		db.db.Close()
		return nil, fmt.Errorf("open db %s: %w", path, err)
	}
	db.ckpt.SetMaxOpenConns(1)
	// WAL: any number of readers alongside one writer. Writes are serialized
	// by writeSem anyway, so the pool only needs room for the writer plus
	// some concurrent readers. Connections are kept: each new one re-runs
	// the DSN pragmas.
	n := max(4, runtime.NumCPU()+2)
	db.db.SetMaxOpenConns(n)
	db.db.SetMaxIdleConns(n)

	if err := db.open(ctx); err != nil {
		db.ckpt.Close()
		db.db.Close()
		return nil, fmt.Errorf("open db %s: %w", path, err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	db.stopCheckpoints, db.checkpointsDone = cancel, make(chan struct{})
	go db.checkpointLoop(cctx)
	return db, nil
}

// checkpointLoop copies the WAL back into the database file once per interval in which something was
// committed. PASSIVE never blocks writers or readers: it copies what it can. Two things make it force a
// TRUNCATE checkpoint instead, which empties the WAL file but briefly holds the write lock: a WAL left
// longer than walCapBytes (readers kept PASSIVE from completing), and a pending scrub after ForgetUser.
func (db *DB) checkpointLoop(ctx context.Context) {
	defer close(db.checkpointsDone)
	ticks := db.checkpointTicks
	if ticks == nil {
		t := time.NewTicker(db.checkpointEvery)
		defer t.Stop()
		ticks = t.C
	}
	var seen int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		if db.scrub.Load() && !db.now().Before(db.scrubAfter) {
			db.retryScrub(ctx)
		}
		n := db.commits.Load()
		if n == seen {
			continue
		}
		seen = n
		var busy, frames, done int64
		err := db.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done)
		if ctx.Err() != nil {
			return
		}
		db.setCheckpointErr(err)
		if err != nil {
			db.log.Warn("wal checkpoint", "err", err)
			continue
		}
		db.checkpoints.Add(1)
		if frames*db.pageSize > walCapBytes && done < frames && !db.scrub.Load() {
			if ok, err := db.truncateWAL(ctx); !ok {
				db.log.Warn("the wal is over its cap and readers keep it from being truncated; retrying with backoff", "frames", frames, "err", err)
				db.scrub.Store(true)
			}
		}
	}
}

// retryScrub is the checkpointer's retry of a TRUNCATE that could not complete, backing off from 1 s to
// a minute (Litestream, for one, holds a read transaction almost all the time).
func (db *DB) retryScrub(ctx context.Context) {
	ok, err := db.truncateWAL(ctx)
	if ok {
		db.scrub.Store(false)
		db.scrubWait = 0
		db.log.Info("wal truncated")
		return
	}
	db.scrubWait = min(max(2*db.scrubWait, time.Second), time.Minute)
	db.scrubAfter = db.now().Add(db.scrubWait)
	db.log.Warn("readers keep the wal from being truncated", "retry_in", db.scrubWait, "err", err)
}

func (db *DB) setCheckpointErr(err error) {
	if err == nil {
		db.ckptErr.Store(nil)
		return
	}
	db.ckptErr.Store(&err)
}

// truncateWAL runs a TRUNCATE checkpoint: the whole WAL goes into the database file and the WAL file
// is cut to zero bytes, so no old page image survives in it. It holds this process's write slot, so
// the process's own writers queue in Go meanwhile, and gives up after truncateBusy if readers or
// another process hold on. It reports whether the checkpoint completed.
func (db *DB) truncateWAL(ctx context.Context) (bool, error) {
	select {
	case db.writeSem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-db.writeSem }()
	var busy, frames, done int64
	if err := db.ckpt.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done); err != nil {
		db.setCheckpointErr(err)
		return false, fmt.Errorf("wal checkpoint: %w", err)
	}
	db.setCheckpointErr(nil)
	db.checkpoints.Add(1)
	return busy == 0, nil
}

// scrubWAL truncates the WAL after a delete that must not linger (ForgetUser). Readers usually finish
// within milliseconds, so it tries for about a second; past that it leaves the retries to the
// checkpointer and returns.
func (db *DB) scrubWAL(ctx context.Context) {
	for i := range 10 {
		ok, err := db.truncateWAL(ctx)
		if ok {
			return
		}
		if err != nil || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(time.Duration(i+1) * 10 * time.Millisecond)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	db.log.Warn("wal still holds deleted data: the checkpointer will truncate it as soon as readers let it")
	db.scrub.Store(true)
}

// dsnParams are the project's one set of connection settings. secure_delete overwrites deleted rows,
// index entries and freed pages with zeros, so what ForgetUser deletes is not left in free space.
const dsnParams = "_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate&_secure_delete=on"

// dataSourceName builds the one DSN the project uses.
func dataSourceName(p string) (string, error) {
	uri, err := fileURI(p)
	if err != nil {
		return "", err
	}
	return uri + "?" + dsnParams, nil
}

// checkpointDSN is dataSourceName with the busy timeout of TRUNCATE checkpoints.
func checkpointDSN(p string) (string, error) {
	dsn, err := dataSourceName(p)
	return strings.Replace(dsn, "_busy_timeout=5000", fmt.Sprintf("_busy_timeout=%d", truncateBusy.Milliseconds()), 1), err
}

// fileURI turns a path into a SQLite URI filename: '%', '?' and '#' (and
// control bytes) are percent-escaped, and the path is made absolute so that
// a leading "//" cannot read as a URI authority.
func fileURI(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(abs); i++ {
		c := abs[i]
		if c == '%' || c == '?' || c == '#' || c < 0x20 || c == 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

func (db *DB) open(ctx context.Context) error {
	names, err := migrationNames()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// The DSN's journal_mode=WAL would rewrite the header of a database in
	// another journal mode as soon as the pool connects, so an existing file
	// is first checked through a query-only connection: a file that is not a
	// database, a foreign database or a newer schema is refused untouched.
	if err := precheck(ctx, db.path, names); err != nil {
		return err
	}

	var mode string
	if err := db.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return notADatabase(err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode is %q, want wal (WAL needs a local filesystem with shared memory)", mode)
	}
	if err := db.db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&db.pageSize); err != nil {
		return err
	}
	return db.migrate(ctx, names)
}

// precheck runs checkSchema on an existing, non-empty file through a
// query-only connection. Not mode=ro: a read-only connection cannot remove
// the -wal and -shm files it creates when it closes.
func precheck(ctx context.Context, path string, names []string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return nil
	}
	uri, err := fileURI(path)
	if err != nil {
		return err
	}
	ro, err := sql.Open("sqlite3", uri+"?_query_only=true&_busy_timeout=5000")
	if err != nil {
		return err
	}
	defer ro.Close()
	ro.SetMaxOpenConns(1)
	_, err = checkSchema(ctx, ro, names)
	return err
}

// notADatabase gives the "not a database" and "corrupt" errors a clear message.
func notADatabase(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt) {
		return fmt.Errorf("not a SQLite database, or corrupt: %w", err)
	}
	return err
}

// migrationNames returns the embedded migration file names in apply order.
func migrationNames() ([]string, error) {
	paths, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		return nil, err
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = path.Base(p)
	}
	slices.Sort(names)
	return names, nil
}

// checkSchema only reads. It returns the migrations recorded, refusing a
// database that records one this binary does not know (ErrSchemaTooNew) or
// that has tables but no migrations table (not ours).
func checkSchema(ctx context.Context, q querier, names []string) (map[string]bool, error) {
	var hasTable int
	if err := q.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'migrations'`).Scan(&hasTable); err != nil {
		return nil, notADatabase(err)
	}
	applied := map[string]bool{}
	if hasTable == 0 {
		var tables int
		if err := q.QueryRowContext(ctx,
			`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).Scan(&tables); err != nil {
			return nil, err
		}
		if tables > 0 {
			return nil, fmt.Errorf("not an internbot database: it has %d tables but no migrations table", tables)
		}
		return applied, nil
	}

	rows, err := q.QueryContext(ctx, `SELECT name FROM migrations ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var unknown []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		applied[name] = true
		if !slices.Contains(names, name) {
			unknown = append(unknown, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w (has %s): upgrade internbot", ErrSchemaTooNew, strings.Join(unknown, ", "))
	}
	return applied, nil
}

// migrate applies the missing migrations in name order.
func (db *DB) migrate(ctx context.Context, names []string) error {
	applied, err := checkSchema(ctx, db.db, names)
	if err != nil {
		return err
	}
	for _, name := range names {
		if applied[name] {
			continue
		}
		if err := db.applyMigration(ctx, name); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// applyMigration applies one migration in its own transaction. It checks
// again under the write lock, in case another process applied it meanwhile.
func (db *DB) applyMigration(ctx context.Context, name string) error {
	body, err := fs.ReadFile(migrationFS, "migration/"+name)
	if err != nil {
		return err
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if _, err := tx.ExecContext(ctx,
		`CREATE TABLE IF NOT EXISTS migrations (name TEXT NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO migrations (name, applied_at) VALUES (?, ?)`, name, tx.nowText); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.log.Info("migration applied", "name", name)
	return nil
}

// Close stops the checkpointer, waits for it, and closes the database (SQLite checkpoints the WAL
// once more as the last connection closes).
func (db *DB) Close() error {
	db.stopCheckpoints()
	<-db.checkpointsDone
	db.ckpt.Close()
	db.stmtsMu.Lock()
	for _, s := range db.stmts {
		s.Close()
	}
	db.stmts = nil
	db.stmtsMu.Unlock()
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("close db: %w", err)
	}
	return nil
}

// Backup writes a consistent online copy of the database to dst with
// VACUUM INTO. It refuses to overwrite dst (the error wraps fs.ErrExist).
//
// The copy is written to a temporary file in dst's directory, synced, and
// only then linked into place, so dst is either absent or a complete copy:
// on any failure (a full disk, a cancelled context) the temporary file is
// removed and nothing is left behind, and the same command can be retried.
func (db *DB) Backup(ctx context.Context, dst string) (err error) {
	if dst == "" {
		return fmt.Errorf("backup: empty destination: %w", internbot.ErrInvalid)
	}
	abs, err := filepath.Abs(dst)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("backup to %s: %w", dst, err)
		}
	}()
	if _, err := os.Lstat(abs); err == nil {
		return fs.ErrExist
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	dir := filepath.Dir(abs)
	f, err := os.CreateTemp(dir, "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	// VACUUM INTO reads one snapshot and needs no write lock; it accepts the
	// empty file CreateTemp made.
	if _, err := db.db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return err
	}
	if err := syncPath(tmp); err != nil {
		return err
	}
	// A hard link refuses an existing dst atomically, where a rename would
	// replace it.
	if err := os.Link(tmp, abs); err != nil {
		return err
	}
	if err := os.Remove(tmp); err != nil {
		return err
	}
	return syncPath(dir)
}

// syncPath fsyncs a file or directory.
func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// CheckWritable proves the database accepts writes the way the bot's own writes need: it commits a
// heartbeat row (a real write to the WAL, so a full disk or a read-only file system fails it), and it
// reports the last WAL checkpoint's failure, if the last one failed: a database that cannot grow its
// file cannot take its WAL back either, and commits fail soon after. Useful for a readiness probe.
func (db *DB) CheckWritable(ctx context.Context) error {
	if p := db.ckptErr.Load(); p != nil {
		return fmt.Errorf("check writable: wal checkpoint: %w", *p)
	}
	tx, err := db.beginTx(ctx)
	if err != nil {
		return fmt.Errorf("check writable: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO heartbeat (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, tx.nowText); err != nil {
		return fmt.Errorf("check writable: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("check writable: %w", err)
	}
	return nil
}

// tx is a write transaction: it holds the process's write slot until it
// ends, and carries one timestamp for every row it writes.
type tx struct {
	*sql.Tx
	db      *DB
	now     time.Time
	nowText string
	done    bool
}

// beginTx starts a write transaction (BEGIN IMMEDIATE through the DSN).
func (db *DB) beginTx(ctx context.Context) (*tx, error) { return db.beginTxUntil(ctx, ctx) }

// beginTxUntil is beginTx with two contexts: wait bounds the wait for the write slot, and txCtx is
// the transaction's (when it ends, database/sql rolls the transaction back).
func (db *DB) beginTxUntil(wait, txCtx context.Context) (*tx, error) {
	select {
	case db.writeSem <- struct{}{}:
	case <-wait.Done():
		return nil, wait.Err()
	}
	sqlTx, err := db.db.BeginTx(txCtx, nil)
	if err != nil {
		<-db.writeSem
		return nil, err
	}
	now := db.now().UTC().Truncate(time.Microsecond)
	return &tx{Tx: sqlTx, db: db, now: now, nowText: formatTime(now)}, nil
}

func (tx *tx) Commit() error {
	err := tx.Tx.Commit()
	if err == nil {
		tx.db.commits.Add(1)
	}
	tx.release()
	return err
}

func (tx *tx) Rollback() error {
	err := tx.Tx.Rollback()
	tx.release()
	return err
}

func (tx *tx) release() {
	if !tx.done {
		tx.done = true
		<-tx.db.writeSem
	}
}

// querier is what read helpers need; *sql.DB and *tx both have it.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// timeLayout is fixed width in UTC so stored times sort as strings.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY failure.
func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) &&
		(se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}

func validDay(day string) error {
	if _, err := time.Parse(time.DateOnly, day); err != nil || len(day) != len(time.DateOnly) {
		return fmt.Errorf("day %q is not YYYY-MM-DD: %w", day, internbot.ErrInvalid)
	}
	return nil
}
