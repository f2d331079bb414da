//go:build !cgo

package storage

// SQLite comes from github.com/mattn/go-sqlite3, which is C compiled with cgo. Without cgo the build
// fails; this deliberate error makes the first message say what to do instead of "c.Exec undefined".
// The file name sorts before the others so that the compiler reports it first.
var _ int = "internbot needs cgo: install a C compiler (gcc: apt install build-essential) and build with CGO_ENABLED=1"
