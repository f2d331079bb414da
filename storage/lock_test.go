//go:build unix

package storage_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/internbot/internbot/storage"
)

// TestLockRunOneFileManyNames: the database reached through a symbolic link, or by a relative path, is
// the same database: its run lock is refused while another holds it.
func TestLockRunOneFileManyNames(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "internbot.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.db")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	l, err := storage.LockRun(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Chdir(dir)
	for _, name := range []string{link, "internbot.db", "./link.db"} {
		if l2, err := storage.LockRun(name); !errors.Is(err, storage.ErrLocked) {
			if l2 != nil {
				l2.Close()
			}
			t.Errorf("LockRun(%q) = %v, want ErrLocked: another name for a locked database", name, err)
		}
	}
}
