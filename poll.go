package internbot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PollOption maps a reaction (a Slack emoji name without colons) to an answer.
type PollOption struct{ Reaction, Answer string }

// Poll is a poll message. Options are stored with the poll, so a poll keeps
// its options even if the configuration changes later.
type Poll struct {
	ID        int64
	Channel   string
	TS        string // the poll message's ts; unique per channel when set
	Question  string
	CreatedBy string
	Options   []PollOption
	CreatedAt time.Time
	ClosedAt  time.Time // zero while the poll is open
	// Anonymous: nobody, admins included, is shown who answered what (counts only).
	Anonymous bool
	// HideResults: nobody is shown the counts until the poll closes.
	HideResults bool
}

// Closed reports whether the poll has been closed.
func (p Poll) Closed() bool { return !p.ClosedAt.IsZero() }

// Answer returns the answer an option reaction stands for.
func (p Poll) Answer(reaction string) (string, bool) {
	for _, o := range p.Options {
		if o.Reaction == reaction {
			return o.Answer, true
		}
	}
	return "", false
}

// ReactionEvent is a reaction_added (Added) or reaction_removed event on a poll.
type ReactionEvent struct {
	EventID  string // Slack's event id; "" disables duplicate detection
	PollID   int64
	User     string
	Reaction string
	Added    bool
	EventTS  string // Slack's event_ts; "" means now
}

// ReactionResult is what ApplyReactions did with one event.
type ReactionResult struct {
	Duplicate bool   // the EventID was seen before; nothing changed
	Ignored   bool   // unknown or closed poll, not an option reaction, bad event_ts or empty user
	Answer    string // the user's answer after the event; "" for none
}

// Answer is a user's current answer on a poll.
type Answer struct {
	PollID     int64
	Channel    string // the poll's channel
	TS         string // the poll message's ts
	User       string
	Answer     string
	AnsweredAt time.Time // when the answer last changed
}

// ParseSlackTS turns a Slack timestamp ("1712345678.123456") into
// microseconds, so that timestamps compare as numbers. Digits beyond the
// sixth fractional one are dropped.
func ParseSlackTS(s string) (int64, error) {
	secPart, frac, _ := strings.Cut(s, ".")
	if secPart == "" || len(secPart) > 12 || !allDigits(secPart) || !allDigits(frac) {
		return 0, fmt.Errorf("bad slack timestamp %q", s)
	}
	sec, err := strconv.ParseInt(secPart, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad slack timestamp %q", s)
	}
	var us int64
	for i := range 6 {
		us *= 10
		if i < len(frac) {
			us += int64(frac[i] - '0')
		}
	}
	return sec*1_000_000 + us, nil
}

// FormatSlackTS is the inverse of ParseSlackTS: microseconds as Slack writes a timestamp.
func FormatSlackTS(us int64) string {
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NewestWhere is the current poll of the channel with the newest poll among the channels ok accepts:
// polls are in creation order (as a store lists them), and ok is asked once per channel, newest
// first. ErrNotFound if ok accepts none. Who may see which poll is decided by ok: see the callers.
func NewestWhere(polls []Poll, ok func(channel string) (bool, error)) (Poll, error) {
	asked := make(map[string]bool)
	for i := len(polls) - 1; i >= 0; i-- { // newest first: a channel's first is its current poll
		p := polls[i]
		if asked[p.Channel] {
			continue
		}
		asked[p.Channel] = true
		yes, err := ok(p.Channel)
		if err != nil {
			return Poll{}, err
		}
		if yes {
			return p, nil
		}
	}
	return Poll{}, ErrNotFound
}
