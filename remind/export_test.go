package remind

import (
	"context"

	"github.com/robfig/cron/v3"
)

// StartWith is Start on sched, for tests that cannot wait for a real schedule.
func StartWith(e *Engine, ctx context.Context, sched cron.Schedule) (stop func()) {
	return e.start(ctx, sched)
}
