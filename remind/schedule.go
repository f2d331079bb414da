package remind

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/internbot/internbot/config"
)

// ParseSchedule reads reminders.schedule as a wall-clock schedule in loc. robfig/cron on its own skips
// a run whose time falls in a spring-forward gap and runs twice in a fall-back hour; here a time in a
// gap runs when the gap ends (02:30 becomes 03:30) and a repeated hour runs once. Interval schedules
// ("@every 1h") count real time and are left alone. The day's bookkeeping in the database is what
// makes reminders exactly-once in any case; this keeps a day from being skipped.
func ParseSchedule(spec string, loc *time.Location) (cron.Schedule, error) {
	s, err := config.ParseSchedule(spec)
	if err != nil {
		return nil, fmt.Errorf("reminders.schedule: %w", err)
	}
	if _, ok := s.(cron.ConstantDelaySchedule); ok {
		return s, nil
	}
	return wallClock{inner: s, loc: loc}, nil
}

type wallClock struct {
	inner cron.Schedule // evaluated on wall-clock times written in UTC, which has no DST
	loc   *time.Location
}

func (w wallClock) Next(t time.Time) time.Time {
	lt := t.In(w.loc)
	wall := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), lt.Minute(), lt.Second(), lt.Nanosecond(), time.UTC)
	for range 1000 {
		wall = w.inner.Next(wall)
		if wall.IsZero() {
			return time.Time{}
		}
		// time.Date picks the first of a repeated hour. For a time in a gap it may land before the gap
		// (02:30 → 01:30 standard time): move it by what it missed, to after the gap (03:30).
		real := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, w.loc)
		got := real.In(w.loc)
		if gotWall := time.Date(got.Year(), got.Month(), got.Day(), got.Hour(), got.Minute(), got.Second(), 0, time.UTC); gotWall.Before(wall) {
			real = real.Add(wall.Sub(gotWall))
		}
		if real.After(t) {
			return real
		}
	}
	return time.Time{}
}

// dueToday reports whether the schedule's first run of now's local day has already passed: a bot that
// starts later than that catches the day's reminders up once.
func dueToday(s cron.Schedule, now time.Time, loc *time.Location) bool {
	lt := now.In(loc)
	midnight := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	first := s.Next(midnight.Add(-time.Nanosecond))
	return !first.IsZero() && !first.After(now)
}

// Start runs the reminder job on the configured schedule, and once at once if today's scheduled time
// has passed (a catch-up: the bookkeeping skips what was already sent), until stop is called.
//
// ctx is the bound on the whole stop (the caller's drain deadline). stop ends a running job at its
// next safe point (between two posts); once ctx ends, a request the job has in flight is abandoned
// too (see InFlight), and what is left is recording what happened. stop waits for every job it
// started to end: each honours its context at every wait (429s, DM spacing, retries), so the wait is
// bounded by ctx plus one short write, and the caller may close the store when stop returns.
//
// The job wakes at the schedule's time in every zone in play (the configured one and each recipient's
// seen so far: see Wake), and at poll.close_at's time.
func (e *Engine) Start(ctx context.Context) (stop func(), err error) {
	if _, err := ParseSchedule(e.cfg.Reminders.Schedule, e.cfg.Timezone); err != nil {
		return nil, err
	}
	return e.start(ctx, engineSchedule{e}), nil
}

// engineSchedule is the engine's wake-up schedule: see Wake.
type engineSchedule struct{ e *Engine }

func (s engineSchedule) Next(t time.Time) time.Time { return s.e.Wake(t) }

// Wake is the first time after t at which the job has something to do: the schedule's next time in
// any zone in play (the configured one and every recipient's seen so far), or poll.close_at's time.
func (e *Engine) Wake(t time.Time) time.Time {
	var best time.Time
	earliest := func(n time.Time) {
		if !n.IsZero() && n.After(t) && (best.IsZero() || n.Before(best)) {
			best = n
		}
	}
	for _, loc := range e.Zones() {
		earliest(e.scheduleIn(loc).Next(t))
	}
	at, _ := e.cfg.CloseAt()
	earliest(at)
	return best
}

// start is Start on sched; tests give it a schedule that fires at once.
func (e *Engine) start(ctx context.Context, sched cron.Schedule) (stop func()) {
	jobCtx, cancelJobs := context.WithCancel(ctx)
	// cancelJobs stops a job at its next safe point; ctx ending (the drain deadline) also abandons
	// the request it has in flight.
	jobCtx = withAbandon(jobCtx, ctx)
	l := cronLogger{e.log.With("component", "cron")}
	c := cron.New(cron.WithLocation(e.cfg.Timezone))
	// Wrapped once, not by the cron's chain: re-adding the job on a reschedule must keep the one
	// SkipIfStillRunning wrapper, or a tick after it would start a second retry loop beside one
	// still under way.
	run := cron.NewChain(cron.Recover(l), cron.SkipIfStillRunning(l)).Then(cron.FuncJob(func() { e.tick(jobCtx) }))
	var mu sync.Mutex
	job := c.Schedule(sched, run)
	e.mu.Lock()
	e.rescheduled = func() {
		// A new zone may wake the job earlier than cron has planned: plan again.
		mu.Lock()
		defer mu.Unlock()
		c.Remove(job)
		job = c.Schedule(sched, run)
	}
	e.mu.Unlock()
	c.Start()
	e.log.Info("reminders scheduled", "schedule", e.cfg.Reminders.Schedule, "timezone", e.cfg.Timezone.String(), "next", c.Entry(job).Next)
	var catchUp sync.WaitGroup
	if e.catchUpOnStart(sched) {
		// Started after today's run time, or with DMs whose recipients' zones are not known yet, or a
		// poll to close: run once (the bookkeeping skips what was already sent, and each part waits
		// for its own time).
		catchUp.Go(func() {
			defer e.recoverPanic("reminder_catch_up")
			e.tick(jobCtx)
		})
	}
	return func() {
		cancelJobs()
		e.mu.Lock()
		e.rescheduled = nil
		e.mu.Unlock()
		<-c.Stop().Done()
		catchUp.Wait()
	}
}

// catchUpOnStart says whether the job runs once at start: today's scheduled time has passed, or
// DMs may be due somewhere (a recipient's morning may come before the configured zone's, and their
// zones are learnt by a run), or poll.close_at's time has passed.
func (e *Engine) catchUpOnStart(sched cron.Schedule) bool {
	now := e.now()
	if dueToday(sched, now, e.cfg.Timezone) {
		return true
	}
	if at, _ := e.cfg.CloseAt(); !at.IsZero() && !now.Before(at) {
		return true
	}
	return e.cfg.Reminders.DM || e.cfg.Reminders.Nudge
}

// recoverPanic keeps a panic in a job from ending the process; cron.Recover does this for cron's own
// runs.
func (e *Engine) recoverPanic(where string) {
	if r := recover(); r != nil {
		e.metrics.Panicked()
		e.log.Error("recovered from a panic", "where", where, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	}
}

// Retries of a reminder run that did not finish, within its local day.
const (
	reminderRetryFirst = time.Minute
	reminderRetryMax   = 30 * time.Minute
	reminderRetries    = 10
)

// tick is one scheduled (or catch-up) run. What failed is tried again with backoff until it
// succeeds or the local day ends — with a daily schedule, the next tick is another day, too late for
// today's reminder. When another process held a reminder (most likely one that died with its lease),
// the retry waits for the lease to run out. Retrying cannot post twice: see Run.
func (e *Engine) tick(ctx context.Context) {
	day := e.Today()
	wait := reminderRetryFirst
	for attempt := 1; ; attempt++ {
		_, err := e.run(ctx, true)
		if err == nil {
			return
		}
		next := wait
		if errors.Is(err, errLeaseHeld) {
			next = max(next, lease+time.Second)
		}
		if attempt > reminderRetries {
			e.log.Error("reminder run incomplete; giving up until the next scheduled run", "attempts", attempt, "err", err)
			return
		}
		e.log.Warn("reminder run incomplete; trying again", "in", next, "err", err)
		if e.sleep(ctx, next) != nil {
			return
		}
		if e.Today() != day {
			e.log.Warn("the day ended before its reminders could all be sent", "day", day.String())
			return
		}
		wait = min(2*wait, reminderRetryMax)
	}
}

type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug(msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error(msg, append(kv, "err", err)...)
}

type abandonKey struct{}

// withAbandon returns ctx carrying abandon: a request that InFlight lets outlive ctx still ends when
// abandon does. The scheduler passes the drain deadline, so that a stop between two posts lets the
// post under way finish, but not past the bound on the whole stop.
func withAbandon(ctx, abandon context.Context) context.Context {
	return context.WithValue(ctx, abandonKey{}, abandon)
}

// InFlight is the context for one request that must not be cut short by ctx ending (a reminder post is
// a safe point): it ends after timeout, or when the context given to withAbandon ends.
func InFlight(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	abandon, ok := ctx.Value(abandonKey{}).(context.Context)
	if !ok {
		return rctx, cancel
	}
	stop := context.AfterFunc(abandon, cancel)
	return rctx, func() { stop(); cancel() }
}
