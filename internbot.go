// Package internbot is the domain's vocabulary: polls and answers, reaction facts, deadlines, the
// bookkeeping of reminders and their DMs, Slack timestamps, and the sentinel errors every layer checks
// with errors.Is. It owns no behaviour that needs a database or Slack.
//
// It imports the standard library only; every other internbot package may import it, and it imports
// none of them (nor slack-go, nor a database driver).
package internbot

import "errors"

// Sentinel errors; callers check them with errors.Is.
var (
	ErrNotFound   = errors.New("not found")
	ErrDuplicate  = errors.New("already exists")
	ErrPollClosed = errors.New("poll is closed")
	ErrInvalid    = errors.New("invalid argument")
	// ErrSuperseded: a newer poll has replaced this one as its channel's current poll, so it cannot
	// be reopened (two open polls in one channel would split the answers).
	ErrSuperseded = errors.New("a newer poll replaced it")
)
