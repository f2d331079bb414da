//go:build !unix

package storage

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("locked")

// flock is a no-op where flock(2) does not exist: internbot runs on Linux; elsewhere a second run is
// not refused.
func flock(*os.File) error { return nil }
