package remind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
)

// Store is what the engine needs from the database: the deadlines admins added, the polls a reminder
// shows and their answers, and the bookkeeping that makes reminders exactly-once. *storage.DB
// implements it.
type Store interface {
	Deadlines(ctx context.Context) ([]internbot.Deadline, error)

	CurrentPoll(ctx context.Context, channel string) (internbot.Poll, error)
	LatestPoll(ctx context.Context) (internbot.Poll, error)
	Polls(ctx context.Context) ([]internbot.Poll, error)
	Counts(ctx context.Context, pollID int64) (map[string]int, error)
	Answers(ctx context.Context, pollID int64) ([]internbot.Answer, error)
	AnswerOf(ctx context.Context, pollID int64, user string) (internbot.Answer, error)

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

	RemindersOff(ctx context.Context, user string) (bool, error)
}

// Slack is what the engine needs from Slack. The bot implements it with the Web API client and its
// rate-limit handling; tests implement it with a fake.
type Slack interface {
	// Post sends msg to channel (a channel or a DM's id) as a message carrying key in its metadata,
	// and returns its ts. It must not repeat a request that may have been carried out (FindPosted
	// settles that on the next attempt); it may wait out rate limits while ctx lasts. A request under
	// way should be finished even when ctx ends (see InFlight). An error for a DM that can never be
	// delivered wraps an *UndeliverableError.
	Post(ctx context.Context, channel string, msg Message, key string) (ts string, err error)
	// FindPosted looks through channel's messages since since for one Post sent with key.
	FindPosted(ctx context.Context, channel, key string, since time.Time) (ts string, found bool, err error)
	// OpenDM opens (or finds) the DM with user and returns its channel id. An error for a user who
	// can never get one wraps an *UndeliverableError.
	OpenDM(ctx context.Context, user string) (channel string, err error)
	// Permalink is the link to a message.
	Permalink(ctx context.Context, channel, ts string) (string, error)
	// IsPublic says whether channel is a public channel; one it cannot look up is not.
	IsPublic(ctx context.Context, channel string) (bool, error)
	// Members is everyone in channel; one it cannot see has none.
	Members(ctx context.Context, channel string) (map[string]bool, error)
}

// UndeliverableError is a DM Slack refused for good (the person was deactivated, may not be DMed,
// …): it is recorded as failed and not tried again. Reason is Slack's error code.
type UndeliverableError struct {
	Reason string
	Err    error
}

func (e *UndeliverableError) Error() string { return e.Err.Error() }
func (e *UndeliverableError) Unwrap() error { return e.Err }

// Message is what one reminder says. The Slack side renders it: the engine decides the facts, not
// the markup.
type Message struct {
	Deadline string
	Date     config.Date
	DaysLeft int             // in the configured zone, on the day of the run
	To       string          // the user a DM is for; "" for the channel reminder
	Poll     *internbot.Poll // the poll the reminder shows; nil when there is none it may show
	// Counts are the poll's counts: always for the channel reminder (when there is a poll), and for a
	// DM only the final counts of a closed poll (nil if they could not be read).
	Counts map[string]int
	Answer string // a DM's recipient's answer on the poll, "" if none
	Link   string // the poll's permalink, "" if there is none
}

// Metrics receives the engine's counters; the bot's Prometheus metrics implement it.
type Metrics interface {
	ReminderPosted()
	DMSent()
	Failed(what string) // "reminder_post" or "reminder_dm"
	Panicked()
}

// Options configures an Engine. Config, Store and Slack are required.
type Options struct {
	Config *config.Config
	Store  Store
	Slack  Slack
	Logger *slog.Logger
	// Now is the clock every date is decided by; tests inject one.
	Now func() time.Time
	// Sleep waits between DMs and between retries of an incomplete run; tests may shorten it.
	Sleep func(ctx context.Context, d time.Duration) error
	// DMInterval spaces reminder DMs (default 1.2s: conversations.open is a Tier 3 method, about 50
	// calls a minute, and chat.postMessage allows about one message a second per channel).
	DMInterval time.Duration
	Metrics    Metrics // nil: none
}

// Engine sends the reminders. Create it with New; Run runs the job once, Start on the schedule.
type Engine struct {
	cfg        *config.Config
	store      Store
	slack      Slack
	log        *slog.Logger
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
	dmInterval time.Duration
	metrics    Metrics
	// holder names this process in reminder leases.
	holder string
	// turn makes one process's runs (scheduled, catch-up, console) take turns: a one-slot semaphore,
	// so that a run waiting for its turn (behind a DM fan-out's spacing and 429 waits) gives up when
	// its context ends, which a mutex would not.
	turn chan struct{}
}

// New checks the options and builds an Engine.
func New(opts Options) (*Engine, error) {
	switch {
	case opts.Config == nil:
		return nil, errors.New("remind: Config is required")
	case opts.Store == nil:
		return nil, errors.New("remind: Store is required")
	case opts.Slack == nil:
		return nil, errors.New("remind: Slack is required")
	}
	e := &Engine{
		cfg:        opts.Config,
		store:      opts.Store,
		slack:      opts.Slack,
		log:        opts.Logger,
		now:        opts.Now,
		sleep:      opts.Sleep,
		dmInterval: opts.DMInterval,
		metrics:    opts.Metrics,
		holder:     holderName(),
		turn:       make(chan struct{}, 1),
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e.log = e.log.With("component", "remind")
	if e.now == nil {
		e.now = time.Now
	}
	if e.sleep == nil {
		e.sleep = sleepCtx
	}
	if e.dmInterval <= 0 {
		e.dmInterval = 1200 * time.Millisecond
	}
	if e.metrics == nil {
		e.metrics = noMetrics{}
	}
	return e, nil
}

type noMetrics struct{}

func (noMetrics) ReminderPosted() {}
func (noMetrics) DMSent()         {}
func (noMetrics) Failed(string)   {}
func (noMetrics) Panicked()       {}

// lease is how long a claim on a deadline's reminder for a day lasts without renewal; the engine
// renews it before every post. A process that dies holding it blocks others for at most this long.
const lease = 5 * time.Minute

// errLeaseHeld means another process (a scheduled run elsewhere, `internbot remind`) holds the
// reminder: this run left it alone.
var errLeaseHeld = errors.New("another internbot is sending this reminder")

// Deadline is one deadline from the config (read-only) or the database (added by an admin).
type Deadline struct {
	Name       string
	Date       config.Date
	FromConfig bool
}

// Deadlines lists every deadline, by date then name.
func (e *Engine) Deadlines(ctx context.Context) ([]Deadline, error) {
	var out []Deadline
	for _, d := range e.cfg.Deadlines {
		out = append(out, Deadline{Name: d.Name, Date: d.Date, FromConfig: true})
	}
	stored, err := e.store.Deadlines(ctx)
	if err != nil {
		return nil, fmt.Errorf("deadlines: %w", err)
	}
	for _, d := range stored {
		date, err := config.ParseDate(d.Date)
		if err != nil {
			e.log.Warn("skipping a stored deadline with a bad date", "name", d.Name, "date", d.Date)
			continue
		}
		out = append(out, Deadline{Name: d.Name, Date: date})
	}
	slices.SortFunc(out, func(a, b Deadline) int {
		if c := a.Date.DaysUntil(b.Date); c != 0 {
			return -c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// Today is the local date in the configured zone.
func (e *Engine) Today() config.Date { return config.DateOf(e.now().In(e.cfg.Timezone)) }

// Run runs the reminder job once for the current time: for each deadline whose days left are in
// reminders.days_before, it posts to the channel and sends DMs, each at most once per deadline per
// local day however often it is called. It stops between two posts when ctx ends; a post that failed
// is tried again on the next call. A DM that can never be delivered is recorded as failed and does
// not make the run fail.
func (e *Engine) Run(ctx context.Context) error {
	_, err := e.RunReport(ctx)
	return err
}

// Report is what one run of the reminder job did.
type Report struct {
	Due           []string // deadlines with a reminder today
	Posted        []string // deadlines whose channel reminder this run posted
	DMsSent       int
	Undeliverable []UndeliverableDM // DMs recorded as failed by this run; they are not tried again
}

// UndeliverableDM is a reminder DM that Slack refused for good (the person was deactivated, …).
type UndeliverableDM struct {
	Deadline, User, Reason string
}

// RunReport is Run, also saying what the run did. The error is set only when something failed that a
// later run may get done, or when ctx ended while the run waited for another run of this process.
func (e *Engine) RunReport(ctx context.Context) (Report, error) {
	var rep Report
	select {
	case e.turn <- struct{}{}:
		defer func() { <-e.turn }()
	case <-ctx.Done():
		return rep, fmt.Errorf("wait for the reminder run under way: %w", ctx.Err())
	}
	today := e.Today()
	ds, err := e.Deadlines(ctx)
	if err != nil {
		return rep, err
	}
	var errs []error
	due := 0
	for _, d := range ds {
		left := today.DaysUntil(d.Date)
		if !slices.Contains(e.cfg.Reminders.DaysBefore, left) {
			continue
		}
		due++
		if ctx.Err() != nil {
			break
		}
		rep.Due = append(rep.Due, d.Name)
		if err := e.remind(ctx, d, today.String(), left, &rep); err != nil {
			errs = append(errs, fmt.Errorf("reminder for %q: %w", d.Name, err))
		}
	}
	if due == 0 {
		// Say so: an operator running `internbot remind` by hand otherwise sees nothing at all.
		e.log.Info("no reminder is due today", "today", today.String(), "deadlines", len(ds), "days_before", e.cfg.Reminders.DaysBefore)
	}
	return rep, errors.Join(errs...)
}

func (e *Engine) remind(ctx context.Context, d Deadline, day string, left int, rep *Report) error {
	rem, claimed, err := e.store.ClaimReminder(ctx, d.Name, day, e.cfg.Channel, e.holder, lease)
	if err != nil {
		return err
	}
	if !claimed {
		return errLeaseHeld
	}
	defer func() {
		if err := e.store.ReleaseReminder(context.WithoutCancel(ctx), d.Name, day, e.holder); err != nil {
			e.log.Warn("could not release the reminder", "deadline", d.Name, "err", err)
		}
	}()
	// The channel post shows its own channel's poll or a public one (see channelPoll); the DMs are
	// about the reminders channel's poll, else the newest, and go only to people in its channel.
	// Nothing is looked up for a post already made.
	var chanPoll, dmPoll *internbot.Poll
	if e.cfg.Channel != "" && rem.State != internbot.ReminderPosted {
		if chanPoll, err = found(e.channelPoll(ctx)); err != nil {
			return err
		}
	}
	if e.cfg.Reminders.DM {
		if dmPoll, err = found(e.dmPoll(ctx)); err != nil {
			return err
		}
	}
	chanLink, dmLink := e.lazyPermalink(ctx, chanPoll), e.lazyPermalink(ctx, dmPoll)
	if chanPoll != nil && dmPoll != nil && chanPoll.ID == dmPoll.ID {
		dmLink = chanLink
	}
	var errs []error
	if e.cfg.Channel == "" {
		e.log.Warn("no channel in the config: the reminder is not posted", "deadline", d.Name)
	} else if err := e.postReminder(ctx, rem, d, day, left, chanPoll, chanLink, rep); err != nil {
		errs = append(errs, err)
	}
	if dmPoll != nil {
		if err := e.sendDMs(ctx, d, day, left, *dmPoll, dmLink, rep); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// found turns a lookup's internbot.ErrNotFound into a nil poll.
func found(p internbot.Poll, err error) (*internbot.Poll, error) {
	if errors.Is(err, internbot.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &p, nil
}

// Who is applying where is sensitive: nothing about a poll reaches anyone who cannot see the poll's
// channel. The channel reminder shows only its own channel's poll or one in a public channel, and a DM
// goes only to members of its poll's channel. When Slack cannot tell, nothing is shown.

// channelPoll is the poll a reminder in the reminders channel shows: that channel's own, else the
// newest poll in a public channel. internbot.ErrNotFound if there is none.
func (e *Engine) channelPoll(ctx context.Context) (internbot.Poll, error) {
	p, err := e.store.CurrentPoll(ctx, e.cfg.Channel)
	if !errors.Is(err, internbot.ErrNotFound) {
		return p, err
	}
	polls, err := e.store.Polls(ctx)
	if err != nil {
		return internbot.Poll{}, err
	}
	return internbot.NewestWhere(polls, func(ch string) (bool, error) { return e.slack.IsPublic(ctx, ch) })
}

// dmPoll is the poll reminder DMs are about: the reminders channel's, else the newest anywhere (its
// recipients are filtered to the people in its channel).
func (e *Engine) dmPoll(ctx context.Context) (internbot.Poll, error) {
	if e.cfg.Channel != "" {
		p, err := e.store.CurrentPoll(ctx, e.cfg.Channel)
		if !errors.Is(err, internbot.ErrNotFound) {
			return p, err
		}
	}
	return e.store.LatestPoll(ctx)
}

// onlyMembers keeps the users who are members of channel.
func (e *Engine) onlyMembers(ctx context.Context, channel string, users []string) ([]string, error) {
	if len(users) == 0 {
		return nil, nil
	}
	members, err := e.slack.Members(ctx, channel)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range users {
		if members[u] {
			out = append(out, u)
		}
	}
	return out, nil
}

// lazyPermalink is the poll's link, fetched only if something is sent: later ticks the same day cost
// no call. A nil poll has no link.
func (e *Engine) lazyPermalink(ctx context.Context, poll *internbot.Poll) func() string {
	var link string
	var fetched bool
	return func() string {
		if poll != nil && !fetched {
			var err error
			link, err = e.slack.Permalink(ctx, poll.Channel, poll.TS)
			if err != nil {
				e.log.Warn("no permalink for the poll", "err", err)
			}
			fetched = true
		}
		return link
	}
}

// renewLease extends this process's claim on the reminder right before a post. If the claim ran out
// (a long 429 storm) and another process took it over, that process finishes the work and this one
// stops: the two never post the same thing.
func (e *Engine) renewLease(ctx context.Context, d Deadline, day string) error {
	_, still, err := e.store.ClaimReminder(ctx, d.Name, day, e.cfg.Channel, e.holder, lease)
	if err != nil {
		return err
	}
	if !still {
		return errLeaseHeld
	}
	return nil
}

// Key is the metadata key of the reminder for deadline on day: to the channel when user is "", else
// the DM to user. A message found with it was posted by an earlier attempt.
func Key(deadline, day, user string) string {
	return deadline + "|" + day + "|" + user
}

// lookBack is how far back FindPosted looks for an earlier attempt: a reminder is retried within its
// local day, which lasts at most 26 hours anywhere, so two days cover it.
const lookBack = 48 * time.Hour

func (e *Engine) postReminder(ctx context.Context, rem internbot.Reminder, d Deadline, day string, left int, poll *internbot.Poll, link func() string, rep *Report) error {
	if rem.State == internbot.ReminderPosted {
		return nil
	}
	key := Key(d.Name, day, "")
	if rem.Attempts > 1 {
		// An earlier attempt may have posted and died before it could record that: look first.
		ts, found, err := e.slack.FindPosted(ctx, e.cfg.Channel, key, e.now().Add(-lookBack))
		if err != nil {
			return fmt.Errorf("check for an earlier post: %w", err)
		}
		if found {
			return e.store.MarkReminderPosted(ctx, d.Name, day, ts)
		}
	}
	msg := Message{Deadline: d.Name, Date: d.Date, DaysLeft: left, Poll: poll}
	if poll != nil {
		var err error
		if msg.Counts, err = e.store.Counts(ctx, poll.ID); err != nil {
			return err
		}
	}
	msg.Link = link()
	if err := e.renewLease(ctx, d, day); err != nil {
		return err
	}
	ts, err := e.slack.Post(ctx, e.cfg.Channel, msg, key)
	ctx = context.WithoutCancel(ctx) // what happened is recorded, shutdown or not
	if err != nil {
		if ferr := e.store.MarkReminderFailed(ctx, d.Name, day, err.Error()); ferr != nil {
			e.log.Error("could not record a failed reminder", "err", ferr)
		}
		e.metrics.Failed("reminder_post")
		return err
	}
	e.metrics.ReminderPosted()
	e.log.Info("reminder posted", "deadline", d.Name, "day", day, "days_left", left)
	rep.Posted = append(rep.Posted, d.Name)
	return e.store.MarkReminderPosted(ctx, d.Name, day, ts)
}

// dmAnswers are the answers whose people get reminder DMs.
var dmAnswers = []string{"yes", "maybe"}

// sendDMs sends the deadline's DMs for day. The recipients are fixed the first time (a snapshot in the
// database), each one's progress is recorded, and a DM whose sending was interrupted is looked up
// before it is sent again: a crash neither repeats nor skips anyone.
func (e *Engine) sendDMs(ctx context.Context, d Deadline, day string, left int, poll internbot.Poll, link func() string, rep *Report) error {
	dms, err := e.store.DMs(ctx, d.Name, day)
	if err != nil {
		return err
	}
	if len(dms) == 0 {
		answers, err := e.store.Answers(ctx, poll.ID)
		if err != nil {
			return err
		}
		var users []string
		for _, a := range answers {
			if slices.Contains(dmAnswers, strings.ToLower(a.Answer)) {
				users = append(users, a.User)
			}
		}
		// A DM names the poll and links it: only for people who can still see its channel.
		if users, err = e.onlyMembers(ctx, poll.Channel, users); err != nil {
			return err
		}
		if _, err := e.store.PlanDMs(ctx, d.Name, day, users); err != nil {
			return err
		}
		if dms, err = e.store.DMs(ctx, d.Name, day); err != nil {
			return err
		}
	}
	var errs []error
	sent := 0
	for _, dm := range dms {
		if dm.State == internbot.DMSent || dm.State == internbot.DMFailed {
			continue
		}
		if ctx.Err() != nil {
			break // a safe point: the next run resumes here
		}
		off, err := e.store.RemindersOff(ctx, dm.User)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if off {
			continue
		}
		if sent > 0 {
			if err := e.sleep(ctx, e.dmInterval); err != nil {
				break
			}
		}
		if err := e.renewLease(ctx, d, day); err != nil {
			errs = append(errs, err)
			break
		}
		sent++
		var undeliverable *UndeliverableError
		switch err := e.sendDM(ctx, d, day, left, poll, link, dm); {
		case err == nil:
			rep.DMsSent++
		case errors.As(err, &undeliverable) && errors.Is(err, errRecordedUndeliverable):
			e.metrics.Failed("reminder_dm")
			e.log.Warn("reminder DM can never be delivered; recorded as failed", "user", dm.User, "deadline", d.Name, "err", err)
			rep.Undeliverable = append(rep.Undeliverable, UndeliverableDM{Deadline: d.Name, User: dm.User, Reason: undeliverable.Reason})
		default:
			e.metrics.Failed("reminder_dm")
			e.log.Warn("reminder DM not sent; it is tried again at the next run", "user", dm.User, "deadline", d.Name, "err", err)
			errs = append(errs, fmt.Errorf("DM to %s: %w", dm.User, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) sendDM(ctx context.Context, d Deadline, day string, left int, poll internbot.Poll, link func() string, dm internbot.DM) error {
	key := Key(d.Name, day, dm.User)
	im := dm.Channel
	if im == "" {
		var err error
		if im, err = e.slack.OpenDM(ctx, dm.User); err != nil {
			return e.dmFailed(ctx, d, day, dm.User, err)
		}
	}
	if dm.State == internbot.DMSending || dm.Attempts > 0 {
		// An earlier attempt may have been delivered: it died before recording it, or its response
		// was lost (a timeout after Slack had posted). Look before sending again.
		ts, found, err := e.slack.FindPosted(ctx, im, key, e.now().Add(-lookBack))
		if err != nil {
			return fmt.Errorf("check for an earlier DM: %w", err)
		}
		if found {
			return e.store.MarkDMSent(ctx, d.Name, day, dm.User, im, ts)
		}
	}
	if err := e.store.MarkDMSending(ctx, d.Name, day, dm.User); err != nil {
		return err
	}
	msg := Message{Deadline: d.Name, Date: d.Date, DaysLeft: left, To: dm.User, Poll: &poll, Counts: e.finalCounts(ctx, poll)}
	if a, err := e.store.AnswerOf(ctx, poll.ID, dm.User); err == nil {
		msg.Answer = a.Answer
	}
	msg.Link = link()
	ts, err := e.slack.Post(ctx, im, msg, key)
	if err != nil {
		return e.dmFailed(ctx, d, day, dm.User, err)
	}
	e.metrics.DMSent()
	return e.store.MarkDMSent(context.WithoutCancel(ctx), d.Name, day, dm.User, im, ts)
}

// errRecordedUndeliverable marks a DM that can never be delivered and was recorded as failed: it is
// not retried.
var errRecordedUndeliverable = errors.New("the DM can never be delivered")

// dmFailed records why a DM was not sent and returns err. An error that retrying cannot fix (an
// *UndeliverableError) marks the DM failed for good, and the error returned also wraps
// errRecordedUndeliverable; any other puts it back to pending for the next run.
func (e *Engine) dmFailed(ctx context.Context, d Deadline, day, user string, err error) error {
	ctx = context.WithoutCancel(ctx) // what happened is recorded, shutdown or not
	var undeliverable *UndeliverableError
	if errors.As(err, &undeliverable) {
		if ferr := e.store.MarkDMUndeliverable(ctx, d.Name, day, user, err.Error()); ferr != nil {
			return errors.Join(err, ferr) // not recorded: the next run tries again
		}
		return fmt.Errorf("%w: %w", errRecordedUndeliverable, err)
	}
	if ferr := e.store.MarkDMFailed(ctx, d.Name, day, user, err.Error()); ferr != nil {
		e.log.Error("could not record a failed DM", "err", ferr)
	}
	return err
}

// finalCounts are a closed poll's counts for its reminder DMs; nil for an open poll, or when they
// cannot be read (the DM then says the poll is closed without them).
func (e *Engine) finalCounts(ctx context.Context, poll internbot.Poll) map[string]int {
	if poll.ClosedAt.IsZero() {
		return nil
	}
	counts, err := e.store.Counts(ctx, poll.ID)
	if err != nil {
		e.log.Warn("no final counts for the reminder DM", "err", err)
		return nil
	}
	return counts
}

// holderName identifies this process in reminder leases: host, pid and a random part.
func holderName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%08x", host, os.Getpid(), rand.Uint32())
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
