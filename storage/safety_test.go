package storage_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/internbot/internbot/storage"
)

// TestOpenRefusesDamage: a database cut short, a file the process cannot read, and a directory where
// the file should be are refused with an error naming the path, and nothing on disk changes.
func TestOpenRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	db, _ := MustOpenDBAt(t, good)
	for range 50 {
		mustCreatePoll(t, db)
	}
	db.Close()
	whole, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		make func(path string)
		root bool // meaningless as root, which reads any file
	}{
		{name: "Truncated", make: func(p string) { os.WriteFile(p, whole[:len(whole)/2+100], 0o600) }},
		{name: "ZeroedPages", make: func(p string) {
			b := bytes.Clone(whole)
			clear(b[4096:])
			os.WriteFile(p, b, 0o600)
		}},
		{name: "Unreadable", make: func(p string) { os.WriteFile(p, whole, 0o000) }, root: true},
		{name: "Directory", make: func(p string) { os.Mkdir(p, 0o700) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			path := filepath.Join(dir, tc.name)
			tc.make(path)
			before, _ := os.ReadFile(path)
			db, err := storage.Open(context.Background(), path)
			if err == nil {
				// Damage SQLite only finds on reading the pages must still not pass a write probe.
				err = db.CheckWritable(context.Background())
				if err == nil {
					_, err = db.Polls(context.Background())
				}
				db.Close()
			}
			if err == nil {
				t.Fatalf("Open accepted a %s database", tc.name)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(path)) && tc.name != "ZeroedPages" {
				t.Errorf("error %q does not name the file", err)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Errorf("the file changed")
			}
			t.Logf("%v", err)
		})
	}
}
