package remind

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"
)

// StartWith is Start on sched, for tests that cannot wait for a real schedule.
func StartWith(e *Engine, ctx context.Context, sched cron.Schedule) (stop func()) {
	return e.start(ctx, sched)
}

// NoteZone is noteZone: a run that saw a recipient in loc.
func NoteZone(e *Engine, loc *time.Location) { e.noteZone(loc) }

// SetTurnWait sets how long Nudge waits for a reminder run under way.
func SetTurnWait(e *Engine, d time.Duration) { e.turnWait = d }
