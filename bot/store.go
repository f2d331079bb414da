package bot

import (
	"context"
	"time"

	"github.com/internbot/internbot"
)

// Store is what the bot needs from its database. *storage.DB implements it; the bot depends on this
// interface, not on SQLite.
type Store interface {
	CreatePoll(ctx context.Context, p internbot.Poll) (internbot.Poll, error)
	CurrentPoll(ctx context.Context, channel string) (internbot.Poll, error)
	LatestPoll(ctx context.Context) (internbot.Poll, error)
	OpenPolls(ctx context.Context) ([]internbot.Poll, error)
	Polls(ctx context.Context) ([]internbot.Poll, error)
	ClosePoll(ctx context.Context, id int64) (internbot.Poll, error)

	ApplyReactions(ctx context.Context, evs []internbot.ReactionEvent) ([]internbot.ReactionResult, error)
	ReconcilePoll(ctx context.Context, pollID int64, present map[string][]string, asOf time.Time) (int, error)
	NewestEventTS(ctx context.Context) (time.Time, error)
	ClampFutureFacts(ctx context.Context, limit time.Time) (int, error)
	Counts(ctx context.Context, pollID int64) (map[string]int, error)
	Answers(ctx context.Context, pollID int64) ([]internbot.Answer, error)
	AnswerOf(ctx context.Context, pollID int64, user string) (internbot.Answer, error)
	ForgetUser(ctx context.Context, user string) error

	ReminderStore
}

// ReminderStore is the bookkeeping that makes reminders exactly-once; Store includes it.
type ReminderStore interface {
	Deadlines(ctx context.Context) ([]internbot.Deadline, error)
	AddDeadline(ctx context.Context, d internbot.Deadline) (internbot.Deadline, error)
	RemoveDeadline(ctx context.Context, name string) error

	ClaimReminder(ctx context.Context, deadline, day, channel, holder string, lease time.Duration) (internbot.Reminder, bool, error)
	ReleaseReminder(ctx context.Context, deadline, day, holder string) error
	MarkReminderPosted(ctx context.Context, deadline, day, ts string) error
	MarkReminderFailed(ctx context.Context, deadline, day, reason string) error

	PlanDMs(ctx context.Context, deadline, day string, users []string) (bool, error)
	DMs(ctx context.Context, deadline, day string) ([]internbot.DM, error)
	MarkDMSending(ctx context.Context, deadline, day, user string) error
	MarkDMSent(ctx context.Context, deadline, day, user, channel, ts string) error
	MarkDMFailed(ctx context.Context, deadline, day, user, reason string) error
	MarkDMUndeliverable(ctx context.Context, deadline, day, user, reason string) error

	SetRemindersOff(ctx context.Context, user string, off bool) error
	RemindersOff(ctx context.Context, user string) (bool, error)
}
