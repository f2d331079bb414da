package bot

import (
	"context"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/export"
	"github.com/internbot/internbot/remind"
)

// Store is what New needs from the database: what the bot's own handlers use, grouped by use, and
// what the reminder engine it wires in uses (remind.Store). *storage.DB implements it; the bot
// depends on these interfaces, not on SQLite.
type Store interface {
	PollStore
	ReactionStore
	SettingsStore
	ClickStore
	export.Store
	remind.Store
}

// PollStore is what the poll commands (poll, results, mine, close, forget me), the poll cache and the
// updater use.
type PollStore interface {
	ReplacePoll(ctx context.Context, p internbot.Poll) (internbot.Poll, []internbot.Poll, error)
	CurrentPoll(ctx context.Context, channel string) (internbot.Poll, error)
	OpenPolls(ctx context.Context) ([]internbot.Poll, error)
	Polls(ctx context.Context) ([]internbot.Poll, error)
	ClosePoll(ctx context.Context, id int64) (internbot.Poll, error)
	ReopenPoll(ctx context.Context, id int64) (internbot.Poll, error)
	Counts(ctx context.Context, pollID int64) (map[string]int, error)
	Answers(ctx context.Context, pollID int64) ([]internbot.Answer, error)
	AnswerOf(ctx context.Context, pollID int64, user string) (internbot.Answer, error)
	ForgetUser(ctx context.Context, user string) error
}

// ReactionStore is what the batcher and the reconciler use to turn reactions into answers.
type ReactionStore interface {
	ApplyReactions(ctx context.Context, evs []internbot.ReactionEvent) ([]internbot.ReactionResult, error)
	ReconcilePoll(ctx context.Context, pollID int64, present map[string][]string, asOf time.Time) (int, error)
	NewestEventTS(ctx context.Context) (time.Time, error)
	ClampFutureFacts(ctx context.Context, limit time.Time) (int, error)
}

// SettingsStore is what the deadline and remind commands write; the reminder engine reads it back.
type SettingsStore interface {
	AddDeadline(ctx context.Context, d internbot.Deadline) (internbot.Deadline, error)
	RemoveDeadline(ctx context.Context, name string) error
	SetRemindersOff(ctx context.Context, user string, off bool) error
}
