package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrLocked means another process holds the database's run lock.
var ErrLocked = errors.New("database is in use")

// RunLock is the lock one serving process (`internbot run`, or `console` on a database file) holds on
// a database for as long as it runs: two bots on one database would each ack events and answer
// commands the other's state does not know about. It is an flock(2) on a file beside the database,
// PATH.lock, so the kernel releases it when the process ends however it ends (kill -9 included): there
// is never a stale lock to clean up. The file says who holds it. Commands that only read or take part
// in SQLite's own locking (export, backup, remind) do not take it.
//
// Why not a lock inside SQLite: a row naming the holder outlives a crashed holder and needs a lease,
// and SQLite's exclusive locking mode would lock out export, backup and remind too.
type RunLock struct {
	f *os.File
}

// LockPath is the lock file of the database at path. Every spelling of the same file (relative, through
// a symbolic link) has the same lock file, or two bots could serve one database.
func LockPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		} else if dir, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil {
			path = filepath.Join(dir, filepath.Base(path)) // the database does not exist yet
		}
	}
	return path + ".lock"
}

// LockRun takes the run lock of the database at path without waiting. If another process holds it, the
// error wraps ErrLocked and names the holder (host, pid, since when).
func LockRun(path string) (*RunLock, error) {
	lp := LockPath(path)
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := flock(f); err != nil {
		holder, _ := os.ReadFile(lp)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			h := strings.TrimSpace(string(holder))
			if h == "" {
				h = "unknown holder"
			}
			return nil, fmt.Errorf("%w: %s is served by another internbot (%s); stop it first (export, backup and remind work alongside it)", ErrLocked, path, h)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("host %s, pid %d, since %s\n", host, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt([]byte(info), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &RunLock{f: f}, nil
}

// Close releases the lock. The file stays: removing it would let a process that opened it just before
// lock a file no one else sees.
func (l *RunLock) Close() error {
	l.f.Truncate(0)
	return l.f.Close()
}
