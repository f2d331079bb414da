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
	"sync"
	"time"

	"github.com/robfig/cron/v3"

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

	AddDM(ctx context.Context, deadline, day, user string) (internbot.DM, error)
	DMChannel(ctx context.Context, user string) (string, error)
	SetDMChannel(ctx context.Context, user, channel string) error
	ClaimNudgeDay(ctx context.Context, day, by string) (bool, error)
	MarkDMSending(ctx context.Context, deadline, day, user string) error
	MarkDMSent(ctx context.Context, deadline, day, user, channel, ts string) error
	MarkDMFailed(ctx context.Context, deadline, day, user, reason string) error
	MarkDMUndeliverable(ctx context.Context, deadline, day, user, reason string) error

	RemindersOff(ctx context.Context, user string) (bool, error)

	ClaimLease(ctx context.Context, name, holder string, lease time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
	OpenPolls(ctx context.Context) ([]internbot.Poll, error)
	PollByID(ctx context.Context, id int64) (internbot.Poll, error)
	AddClosing(ctx context.Context, pollID int64, deadline string) (internbot.Closing, error)
	PendingClosings(ctx context.Context) ([]internbot.Closing, error)
	MarkClosingPosted(ctx context.Context, pollID int64, ts string) error
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
	// Users is everyone in the workspace the bot can see, by id: their time zones, and who is a bot
	// or deactivated.
	Users(ctx context.Context) (map[string]User, error)
	// ClosePoll closes the poll the way an admin's /internship close does (its message then shows
	// the final counts) and returns it; closing a closed poll is not an error.
	ClosePoll(ctx context.Context, id int64) (internbot.Poll, error)
}

// User is what the engine needs to know about a workspace member.
type User struct {
	ID      string
	TZ      string // IANA zone from their Slack profile; "" if unknown
	IsBot   bool
	Deleted bool
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
	DaysLeft int             // on the day of the run in Zone
	To       string          // the user a DM is for; "" for the channel reminder
	Poll     *internbot.Poll // the poll the reminder shows; nil when there is none it may show
	// Counts are the poll's counts: always for the channel reminder (when there is a poll), and for a
	// DM only the final counts of a closed poll (nil if they could not be read).
	Counts map[string]int
	Answer string // a DM's recipient's answer on the poll, "" if none
	Link   string // the poll's permalink, "" if there is none
	// At is an instant on the deadline's day, for a date token each reader sees in their own zone:
	// noon in Zone, the recipient's zone for a DM (whose days left are counted on their calendar)
	// and the configured zone for a channel post (many readers).
	At   time.Time
	Zone *time.Location
	// Nudge: a DM to someone in the poll's channel who has not answered it.
	Nudge bool
	// Closing: the note posted in a poll's channel when poll.close_at closed it (Deadline names the
	// deadline, Poll and Counts are the closed poll's).
	Closing bool
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
	// DMInterval spaces reminder DMs (default none: the Slack side paces its calls by Slack's rate
	// tiers and waits out 429s).
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
	// turnWait bounds how long Nudge (an admin waiting for a reply) waits for a run under way.
	turnWait time.Duration

	mu sync.Mutex
	// zones are the time zones of the recipients seen so far, by name; the scheduler wakes at the
	// schedule's time in each of them.
	zones map[string]*time.Location
	// scheds is the schedule read in each zone.
	scheds map[string]cron.Schedule
	// rescheduled is called when a new zone is seen (the scheduler recomputes its next wake).
	rescheduled func()
	// closedSeen are the polls poll.close_at closed that this process's Slack side has been handed
	// (see syncClosed).
	closedSeen map[int64]bool
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
		turnWait:   3 * time.Second,
		zones:      map[string]*time.Location{},
		scheds:     map[string]cron.Schedule{},
		closedSeen: map[int64]bool{},
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
	Nudged        int               // of DMsSent, nudges to people who had not answered
	Undeliverable []UndeliverableDM // DMs recorded as failed by this run; they are not tried again
}

// UndeliverableDM is a reminder DM that Slack refused for good (the person was deactivated, …).
type UndeliverableDM struct {
	Deadline, User, Reason string
}

// RunReport is Run, also saying what the run did. The error is set only when something failed that a
// later run may get done, or when ctx ended (the run stopped at a safe point, or while it waited for
// another run of this process): what it did not reach, a later run does.
func (e *Engine) RunReport(ctx context.Context) (Report, error) {
	rep, err := e.run(ctx, false)
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("stopped before the run was done: %w", ctx.Err())
	}
	return rep, err
}

// run is one run of the job. A scheduled run (or a catch-up) posts the channel reminder only once the
// schedule's first time today (in the configured zone) has passed; one run by hand posts it now. In
// both, each person's DMs wait for the schedule's time in their own zone.
func (e *Engine) run(ctx context.Context, scheduled bool) (Report, error) {
	var rep Report
	select {
	case e.turn <- struct{}{}:
		defer func() { <-e.turn }()
	case <-ctx.Done():
		return rep, fmt.Errorf("wait for the reminder run under way: %w", ctx.Err())
	}
	now := e.now()
	today := config.DateOf(now.In(e.cfg.Timezone))
	ds, err := e.Deadlines(ctx)
	if err != nil {
		return rep, err
	}
	var errs []error
	if err := e.closeDue(ctx, now); err != nil {
		errs = append(errs, fmt.Errorf("close the poll: %w", err))
	}
	chanDue := !scheduled || dueToday(e.scheduleIn(e.cfg.Timezone), now, e.cfg.Timezone)
	for _, d := range ds {
		left := today.DaysUntil(d.Date)
		if !e.dueOn(today, left) {
			continue
		}
		rep.Due = append(rep.Due, d.Name)
		if !chanDue || ctx.Err() != nil {
			continue
		}
		if err := e.remind(ctx, d, today.String(), left, &rep); err != nil {
			errs = append(errs, fmt.Errorf("reminder for %q: %w", d.Name, err))
		}
	}
	if e.cfg.Reminders.DM || e.cfg.Reminders.Nudge {
		if err := e.sendDMs(ctx, now, ds, &rep); err != nil {
			errs = append(errs, fmt.Errorf("reminder DMs: %w", err))
		}
	}
	if len(rep.Due) == 0 && rep.DMsSent == 0 {
		// Say so: an operator running `internbot remind` by hand otherwise sees nothing at all.
		e.log.Info("no reminder is due today", "today", today.String(), "deadlines", len(ds), "days_before", e.cfg.Reminders.DaysBefore)
	}
	return rep, errors.Join(errs...)
}

// dueOn says whether a deadline left days after day gets a reminder on day: left is in days_before,
// or, with skip_weekends, nothing goes out on a Saturday or Sunday and a Friday also sends what would
// have fallen on the weekend after it.
func (e *Engine) dueOn(day config.Date, left int) bool {
	in := func(n int) bool { return n >= 0 && slices.Contains(e.cfg.Reminders.DaysBefore, n) }
	if !e.cfg.Reminders.SkipWeekends {
		return in(left)
	}
	switch day.In(time.UTC).Weekday() {
	case time.Saturday, time.Sunday:
		return false
	case time.Friday:
		return in(left) || in(left-1) || in(left-2)
	}
	return in(left)
}

// noon is an instant on date's day in loc, for the date tokens in messages.
func noon(date config.Date, loc *time.Location) time.Time { return date.In(loc).Add(12 * time.Hour) }

// remind posts the deadline's reminder in the channel, once per deadline per local day.
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
	if rem.State == internbot.ReminderPosted {
		return nil // nothing is looked up for a post already made
	}
	if e.cfg.Channel == "" {
		e.log.Warn("no channel in the config: the reminder is not posted", "deadline", d.Name)
		return nil
	}
	// The channel post shows its own channel's poll or a public one (see channelPoll).
	chanPoll, err := found(e.channelPoll(ctx))
	if err != nil {
		return err
	}
	return e.postReminder(ctx, rem, d, day, left, chanPoll, e.lazyPermalink(ctx, chanPoll), rep)
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
	msg := Message{Deadline: d.Name, Date: d.Date, At: noon(d.Date, e.cfg.Timezone), Zone: e.cfg.Timezone, DaysLeft: left, Poll: poll}
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

// dmLease names the lease on the DM fan-out: one process sends DMs at a time.
const dmLease = "reminder-dms"

// recipient is one person a run may DM: nudge for someone who has not answered the poll; loc is
// their zone (set when the DMs are sent).
type recipient struct {
	user  string
	nudge bool
	loc   *time.Location
}

// sendDMs sends each recipient the DMs due on their own local day, once the schedule's time has
// passed in their zone. Each DM is recorded under (deadline, their day, user) before it is sent, and
// one whose sending was interrupted is looked up before it is sent again: a crash neither repeats nor
// skips anyone. The DMs are about the reminders channel's poll, else the newest, and go only to
// members of its channel.
func (e *Engine) sendDMs(ctx context.Context, now time.Time, ds []Deadline, rep *Report) error {
	if !e.anyDueNear(now, ds) {
		return nil // no Slack call on the days nothing is due anywhere
	}
	poll, err := found(e.dmPoll(ctx))
	if err != nil || poll == nil {
		return err
	}
	rs, users, nudgeErr, err := e.recipients(ctx, *poll)
	if err != nil {
		return err
	}
	errs := []error{nudgeErr} // the DMs go out; the run is retried for the nudges
	if ok, err := e.store.ClaimLease(ctx, dmLease, e.holder, lease); err != nil {
		return err
	} else if !ok {
		return errLeaseHeld
	}
	defer func() {
		if err := e.store.ReleaseLease(context.WithoutCancel(ctx), dmLease, e.holder); err != nil {
			e.log.Warn("could not release the DM lease", "err", err)
		}
	}()
	link := e.lazyPermalink(ctx, poll)
	for _, r := range rs {
		loc := e.zoneOf(users, r.user)
		r.loc = loc
		if !dueToday(e.scheduleIn(loc), now, loc) {
			continue // not yet their morning
		}
		day := config.DateOf(now.In(loc))
		for _, d := range ds {
			left := day.DaysUntil(d.Date)
			if !e.dueOn(day, left) {
				continue
			}
			if ctx.Err() != nil {
				return errors.Join(errs...) // a safe point: the next run resumes here
			}
			if err := e.dmOne(ctx, d, day.String(), left, *poll, link, r, rep); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// anyDueNear says whether some deadline is due on a day some zone may be living now: local days
// are at most two days from the configured zone's.
func (e *Engine) anyDueNear(now time.Time, ds []Deadline) bool {
	today := config.DateOf(now.In(e.cfg.Timezone))
	for k := -2; k <= 2; k++ {
		day := today.AddDays(k)
		for _, d := range ds {
			if e.dueOn(day, day.DaysUntil(d.Date)) {
				return true
			}
		}
	}
	return false
}

// recipients are the people reminder DMs may go to: those whose answer is in dm_answers and, with
// nudge, the members of the poll's channel who have not answered (not bots, the bot itself or
// deactivated people), all still in the poll's channel; in user order. users is the workspace's
// directory (nil if it could not be read: everyone is then in the configured zone, and nobody is
// nudged until it can be). nudgeErr says the nudges were left out: the DMs go out, and the run is
// retried for them.
func (e *Engine) recipients(ctx context.Context, poll internbot.Poll) (rs []recipient, users map[string]User, nudgeErr, err error) {
	answers, err := e.store.Answers(ctx, poll.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	answered := map[string]string{}
	for _, a := range answers {
		answered[a.User] = a.Answer
	}
	// A DM names the poll and links it: only for people who can still see its channel.
	members, err := e.slack.Members(ctx, poll.Channel)
	if err != nil {
		return nil, nil, nil, err
	}
	users, uerr := e.slack.Users(ctx)
	if uerr != nil {
		e.log.Warn("no user directory: reminder DMs use the configured zone, and nobody is nudged", "err", uerr)
		users = nil
	}
	if e.cfg.Reminders.DM {
		for u, a := range answered {
			if members[u] && slices.ContainsFunc(e.cfg.Reminders.DMAnswers, func(x string) bool { return strings.EqualFold(x, a) }) {
				rs = append(rs, recipient{user: u})
			}
		}
	}
	if e.cfg.Reminders.Nudge && poll.ClosedAt.IsZero() && users != nil {
		for m := range members {
			if u, ok := users[m]; ok && !u.IsBot && !u.Deleted && answered[m] == "" {
				rs = append(rs, recipient{user: m, nudge: true})
			}
		}
	}
	slices.SortFunc(rs, func(a, b recipient) int { return strings.Compare(a.user, b.user) })
	for _, r := range rs {
		e.noteZone(e.zoneOf(users, r.user))
	}
	if uerr != nil && e.cfg.Reminders.Nudge {
		return rs, nil, fmt.Errorf("users: %w", uerr), nil
	}
	return rs, users, nil, nil
}

// dmOne sends r the DM for deadline d on their day, unless it was sent (or can never be) already or
// they turned reminders off.
func (e *Engine) dmOne(ctx context.Context, d Deadline, day string, left int, poll internbot.Poll, link func() string, r recipient, rep *Report) error {
	off, err := e.store.RemindersOff(ctx, r.user)
	if err != nil || off {
		return err
	}
	dm, err := e.store.AddDM(ctx, d.Name, day, r.user)
	if err != nil {
		return err
	}
	if dm.State == internbot.DMSent || dm.State == internbot.DMFailed {
		return nil
	}
	if e.dmInterval > 0 && rep.DMsSent+len(rep.Undeliverable) > 0 {
		if err := e.sleep(ctx, e.dmInterval); err != nil {
			return nil // stopping: the next run resumes here
		}
	}
	var undeliverable *UndeliverableError
	switch err := e.sendDM(ctx, d, day, left, poll, link, dm, r); {
	case err == nil:
		rep.DMsSent++
		if r.nudge {
			rep.Nudged++
		}
	case errors.As(err, &undeliverable) && errors.Is(err, errRecordedUndeliverable):
		e.metrics.Failed("reminder_dm")
		e.log.Warn("reminder DM can never be delivered; recorded as failed", "user", dm.User, "deadline", d.Name, "err", err)
		rep.Undeliverable = append(rep.Undeliverable, UndeliverableDM{Deadline: d.Name, User: dm.User, Reason: undeliverable.Reason})
	default:
		e.metrics.Failed("reminder_dm")
		e.log.Warn("reminder DM not sent; it is tried again at the next run", "user", dm.User, "deadline", d.Name, "err", err)
		return fmt.Errorf("DM to %s: %w", dm.User, err)
	}
	return nil
}

// dmChannel is the DM channel with user: the one stored, else conversations.open's (then stored, so
// later days skip that Tier 3 call).
func (e *Engine) dmChannel(ctx context.Context, user string) (string, error) {
	im, err := e.store.DMChannel(ctx, user)
	if err != nil || im != "" {
		return im, err
	}
	if im, err = e.slack.OpenDM(ctx, user); err != nil {
		return "", err
	}
	if err := e.store.SetDMChannel(context.WithoutCancel(ctx), user, im); err != nil {
		e.log.Warn("could not store the DM channel", "user", user, "err", err)
	}
	return im, nil
}

func (e *Engine) sendDM(ctx context.Context, d Deadline, day string, left int, poll internbot.Poll, link func() string, dm internbot.DM, r recipient) error {
	key := Key(d.Name, day, dm.User)
	im := dm.Channel
	if im == "" {
		var err error
		if im, err = e.dmChannel(ctx, dm.User); err != nil {
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
	loc := r.loc
	if loc == nil {
		loc = e.cfg.Timezone
	}
	msg := Message{Deadline: d.Name, Date: d.Date, At: noon(d.Date, loc), Zone: loc, DaysLeft: left, To: dm.User, Poll: &poll,
		Counts: e.finalCounts(ctx, poll), Nudge: r.nudge}
	if a, err := e.store.AnswerOf(ctx, poll.ID, dm.User); err == nil {
		msg.Answer = a.Answer
	}
	msg.Link = link()
	// Renewed right before the post: opening the DM and the checks above may have outlasted the lease
	// (429 waits), and another process that took it over would send the same DM.
	if ok, err := e.store.ClaimLease(ctx, dmLease, e.holder, lease); err != nil {
		return err
	} else if !ok {
		return errLeaseHeld
	}
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

// zoneOf is user's time zone from the directory, else the configured one.
func (e *Engine) zoneOf(users map[string]User, user string) *time.Location {
	tz := users[user].TZ
	if tz == "" {
		return e.cfg.Timezone
	}
	e.mu.Lock()
	loc, ok := e.zones[tz]
	e.mu.Unlock()
	if ok {
		return loc
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		e.log.Warn("unknown time zone in a Slack profile; using the configured one", "user", user, "tz", tz)
		return e.cfg.Timezone
	}
	return loc
}

// noteZone adds loc to the zones the scheduler wakes for.
func (e *Engine) noteZone(loc *time.Location) {
	e.mu.Lock()
	_, seen := e.zones[loc.String()]
	if !seen {
		e.zones[loc.String()] = loc
	}
	f := e.rescheduled
	e.mu.Unlock()
	if !seen && f != nil {
		f()
	}
}

// Zones are the recipients' time zones seen so far, and the configured one, by name.
func (e *Engine) Zones() []*time.Location {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []*time.Location{e.cfg.Timezone}
	for name, loc := range e.zones {
		if name != e.cfg.Timezone.String() {
			out = append(out, loc)
		}
	}
	slices.SortFunc(out[1:], func(a, b *time.Location) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// scheduleIn is reminders.schedule read as wall-clock time in loc.
func (e *Engine) scheduleIn(loc *time.Location) cron.Schedule {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.scheds[loc.String()]; ok {
		return s
	}
	s, err := ParseSchedule(e.cfg.Reminders.Schedule, loc)
	if err != nil {
		s, _ = ParseSchedule(config.DefaultSchedule, loc) // config validated it: not reached
	}
	e.scheds[loc.String()] = s
	return s
}

// closeLease names the lease on closing polls.
const closeLease = "poll-closing"

// closeDue closes the polls poll.close_at closes once its time has come (a bot that was down then
// closes them when it runs), and posts each one's closing note in its channel, once: the closing is
// recorded before the poll is closed, the note carries a metadata key, and an interrupted attempt
// looks for it before posting again.
func (e *Engine) closeDue(ctx context.Context, now time.Time) error {
	at, name := e.cfg.CloseAt()
	if at.IsZero() {
		return nil
	}
	pending, err := e.store.PendingClosings(ctx)
	if err != nil {
		return err
	}
	if now.Before(at) && len(pending) == 0 {
		return nil
	}
	if !now.Before(at) {
		if err := e.syncClosed(ctx, at); err != nil {
			return err
		}
	}
	if ok, err := e.store.ClaimLease(ctx, closeLease, e.holder, lease); err != nil {
		return err
	} else if !ok {
		return errLeaseHeld
	}
	defer func() {
		if err := e.store.ReleaseLease(context.WithoutCancel(ctx), closeLease, e.holder); err != nil {
			e.log.Warn("could not release the closing lease", "err", err)
		}
	}()
	if !now.Before(at) {
		open, err := e.store.OpenPolls(ctx)
		if err != nil {
			return err
		}
		for _, p := range open {
			if p.CreatedAt.Before(at) { // a poll posted after the close time is a new one
				pending = append(pending, internbot.Closing{PollID: p.ID, Deadline: name})
			}
		}
	}
	var errs []error
	done := map[int64]bool{}
	for _, c := range pending {
		if done[c.PollID] {
			continue
		}
		done[c.PollID] = true
		if err := e.closeOne(ctx, c, at); err != nil {
			errs = append(errs, fmt.Errorf("poll %d: %w", c.PollID, err))
		}
	}
	return errors.Join(errs...)
}

// syncClosed hands the Slack side, once per process, each poll poll.close_at closed that it has not
// closed itself: another process (`internbot remind`) may have, and a running bot then still holds it
// as open (its cache, the poll message's counts) until it learns. ClosePoll on a closed poll is how
// it learns: it updates the bot's state and brings the message to its final counts.
func (e *Engine) syncClosed(ctx context.Context, at time.Time) error {
	polls, err := e.store.Polls(ctx)
	if err != nil {
		return err
	}
	for _, p := range polls {
		if !p.Closed() || !p.CreatedAt.Before(at) || p.ClosedAt.Before(at) {
			continue // open (closeOne's), a new poll, or closed by hand before close_at
		}
		e.mu.Lock()
		seen := e.closedSeen[p.ID]
		e.mu.Unlock()
		if seen {
			continue
		}
		if _, err := e.slack.ClosePoll(ctx, p.ID); err != nil {
			return fmt.Errorf("poll %d: %w", p.ID, err)
		}
		e.mu.Lock()
		e.closedSeen[p.ID] = true
		e.mu.Unlock()
	}
	return nil
}

func (e *Engine) closeOne(ctx context.Context, c internbot.Closing, at time.Time) error {
	c, err := e.store.AddClosing(ctx, c.PollID, c.Deadline) // counts this attempt at the note
	if err != nil || c.State == internbot.ReminderPosted {
		return err
	}
	p, err := e.store.PollByID(ctx, c.PollID)
	if err != nil {
		return err
	}
	if !p.Closed() {
		if p, err = e.slack.ClosePoll(ctx, p.ID); err != nil {
			return err
		}
		e.mu.Lock()
		e.closedSeen[p.ID] = true
		e.mu.Unlock()
		e.log.Info("poll closed by poll.close_at", "poll", p.ID, "channel", p.Channel, "deadline", c.Deadline)
	}
	key := fmt.Sprintf("close|%d", p.ID)
	if c.Attempts > 1 {
		ts, found, err := e.slack.FindPosted(ctx, p.Channel, key, at.Add(-time.Hour))
		if err != nil {
			return fmt.Errorf("check for an earlier closing note: %w", err)
		}
		if found {
			return e.store.MarkClosingPosted(ctx, p.ID, ts)
		}
	}
	counts, err := e.store.Counts(ctx, p.ID)
	if err != nil {
		return err
	}
	date, _ := config.ParseDate(at.In(e.cfg.Timezone).AddDate(0, 0, -1).Format(time.DateOnly))
	msg := Message{Closing: true, Deadline: c.Deadline, Date: date, At: noon(date, e.cfg.Timezone), Zone: e.cfg.Timezone, Poll: &p, Counts: counts}
	ts, err := e.slack.Post(ctx, p.Channel, msg, key)
	if err != nil {
		return err
	}
	return e.store.MarkClosingPosted(context.WithoutCancel(ctx), p.ID, ts)
}

// NudgeReport is what an admin's nudge did.
type NudgeReport struct {
	Deadline string // the deadline the nudges named; "" if there is no upcoming one
	NoPoll   bool   // there is no open poll to nudge about
	Already  bool   // a nudge already went out today (the configured zone's day)
	// Busy: a reminder run (this process's, or another's DM fan-out) is under way; nothing was sent
	// and the day is not used up: try again in a few minutes.
	Busy   bool
	Sent   int
	Failed int // could not be sent (Slack refused, or will retry at no later run)
}

// Nudge DMs, now, the members of the poll's channel who have not answered it, naming the next
// deadline on each one's own day: at most once per day (the configured zone's), and never twice to
// one person for one deadline on their day (a scheduled nudge counts). While a reminder run is under
// way (this process's, beyond a short wait, or another's DM fan-out) it sends nothing, reports Busy
// and leaves the day unused.
func (e *Engine) Nudge(ctx context.Context, by string) (NudgeReport, error) {
	var nr NudgeReport
	wait, cancel := context.WithTimeout(ctx, e.turnWait)
	defer cancel()
	select {
	case e.turn <- struct{}{}:
		defer func() { <-e.turn }()
	case <-wait.Done():
		if ctx.Err() != nil {
			return nr, fmt.Errorf("wait for the reminder run under way: %w", ctx.Err())
		}
		nr.Busy = true
		return nr, nil
	}
	now := e.now()
	ds, err := e.Deadlines(ctx)
	if err != nil {
		return nr, err
	}
	// next is the first deadline not yet past on day.
	next := func(day config.Date) *Deadline {
		for i := range ds {
			if day.DaysUntil(ds[i].Date) >= 0 {
				return &ds[i]
			}
		}
		return nil
	}
	today := config.DateOf(now.In(e.cfg.Timezone))
	if n := next(today); n != nil {
		nr.Deadline = n.Name
	} else {
		return nr, nil
	}
	poll, err := found(e.dmPoll(ctx))
	if err != nil {
		return nr, err
	}
	if poll == nil || poll.Closed() {
		nr.NoPoll = true
		return nr, nil
	}
	members, err := e.slack.Members(ctx, poll.Channel)
	if err != nil {
		return nr, err
	}
	users, err := e.slack.Users(ctx)
	if err != nil {
		return nr, err
	}
	answers, err := e.store.Answers(ctx, poll.ID)
	if err != nil {
		return nr, err
	}
	answered := map[string]bool{}
	for _, a := range answers {
		answered[a.User] = true
	}
	var undecided []string
	for m := range members {
		if u, ok := users[m]; ok && !u.IsBot && !u.Deleted && !answered[m] {
			undecided = append(undecided, m)
		}
	}
	slices.Sort(undecided)
	// The lease before the day: a day claimed and then refused the lease would be used up unsent.
	if ok, err := e.store.ClaimLease(ctx, dmLease, e.holder, lease); err != nil {
		return nr, err
	} else if !ok {
		nr.Busy = true
		return nr, nil
	}
	defer func() {
		if err := e.store.ReleaseLease(context.WithoutCancel(ctx), dmLease, e.holder); err != nil {
			e.log.Warn("could not release the DM lease", "err", err)
		}
	}()
	if ok, err := e.store.ClaimNudgeDay(ctx, today.String(), by); err != nil {
		return nr, err
	} else if !ok {
		nr.Already = true
		return nr, nil
	}
	link := e.lazyPermalink(ctx, poll)
	var rep Report
	var errs []error
	for _, u := range undecided {
		if ctx.Err() != nil {
			break
		}
		loc := e.zoneOf(users, u)
		e.noteZone(loc)
		day := config.DateOf(now.In(loc))
		d := next(day)
		if d == nil {
			continue // every deadline is past on their day
		}
		if err := e.dmOne(ctx, *d, day.String(), day.DaysUntil(d.Date), *poll, link, recipient{user: u, nudge: true, loc: loc}, &rep); err != nil {
			errs = append(errs, err)
		}
	}
	nr.Sent, nr.Failed = rep.Nudged, len(rep.Undeliverable)+len(errs)
	return nr, errors.Join(errs...)
}
