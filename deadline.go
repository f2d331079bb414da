package internbot

import "time"

// Deadline is a deadline added by an admin. Names are unique regardless of case.
type Deadline struct {
	Name      string
	Date      string // YYYY-MM-DD
	CreatedBy string
	CreatedAt time.Time
}

// Reminder states.
const (
	ReminderPending = "pending"
	ReminderPosted  = "posted"
)

// Reminder is the bookkeeping that makes the channel reminder for a
// deadline exactly-once per local day.
type Reminder struct {
	Deadline  string
	Day       string // local day, YYYY-MM-DD
	Channel   string
	State     string // ReminderPending or ReminderPosted
	TS        string // the posted message's ts
	LastError string
	Attempts  int
	UpdatedAt time.Time
}

// DM states. MarkDMFailed puts a DM back to DMPending (to be tried again);
// MarkDMUndeliverable sets DMFailed, for a DM that can never be delivered.
const (
	DMPending = "pending"
	DMSending = "sending"
	DMSent    = "sent"
	DMFailed  = "failed"
)

// DM is the bookkeeping of one reminder DM to one user.
type DM struct {
	Deadline  string
	Day       string
	User      string
	State     string // DMPending, DMSending, DMSent or DMFailed
	Channel   string // the DM channel, once sent
	TS        string
	LastError string
	Attempts  int
}

// Closing is the bookkeeping of a poll closed by poll.close_at: its closing note is posted once.
type Closing struct {
	PollID   int64
	Deadline string // the deadline whose day's end closed it
	State    string // ReminderPending or ReminderPosted
	TS       string // the closing note's ts, once posted
	Attempts int
}
