package remind_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/remind"
	"github.com/internbot/internbot/storage"
)

// The tests drive the engine with a fake Slack and a real SQLite store: no Socket Mode, no Web API.
const (
	channel = "C0INTERN"
	yes     = "U0YES"
	maybe   = "U0MAYBE"
	no      = "U0NO"
	gone    = "U0GONE" // answered yes, then left the poll's channel
)

// deadline is 3 days after day0, so a run on day0 is due (days_before has 3).
var day0 = time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC)

const deadlineName = "Application deadline"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// posted is one message the fake Slack carried out.
type posted struct {
	channel, ts, key string
	msg              remind.Message
}

// fakeSlack is a workspace where channel is public and everyone but gone is in it. Hooks decide what
// a call does; by default every call succeeds.
type fakeSlack struct {
	mu    sync.Mutex
	msgs  []posted
	calls map[string]int
	// post, if set, runs before a Post is carried out: deliver says whether Slack carries it out,
	// err is what the caller gets (a lost response is deliver and an error).
	post func(ctx context.Context, channel string, msg remind.Message) (deliver bool, err error)
	// openDM, if set, may refuse to open a DM.
	openDM func(user string) error
	// users is the workspace directory Users returns; closePoll closes a poll.
	users     map[string]remind.User
	usersErr  error // what Users fails with, if set
	closePoll func(id int64) (internbot.Poll, error)
}

func newFakeSlack() *fakeSlack { return &fakeSlack{calls: map[string]int{}} }

func (s *fakeSlack) count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

func (s *fakeSlack) called(method string) {
	s.mu.Lock()
	s.calls[method]++
	s.mu.Unlock()
}

// sent is what was carried out in channel (a DM's channel is "D"+user).
func (s *fakeSlack) sent(channel string) []posted {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []posted
	for _, m := range s.msgs {
		if m.channel == channel {
			out = append(out, m)
		}
	}
	return out
}

func (s *fakeSlack) Post(ctx context.Context, channel string, msg remind.Message, key string) (string, error) {
	s.called("post")
	deliver, err := true, error(nil)
	if s.post != nil {
		deliver, err = s.post(ctx, channel, msg)
	}
	if deliver {
		s.mu.Lock()
		ts := fmt.Sprintf("1765530000.%06d", len(s.msgs)+1)
		s.msgs = append(s.msgs, posted{channel: channel, ts: ts, key: key, msg: msg})
		s.mu.Unlock()
		if err == nil {
			return ts, nil
		}
	}
	return "", err
}

func (s *fakeSlack) FindPosted(_ context.Context, channel, key string, _ time.Time) (string, bool, error) {
	s.called("find")
	for _, m := range s.sent(channel) {
		if m.key == key {
			return m.ts, true, nil
		}
	}
	return "", false, nil
}

func (s *fakeSlack) OpenDM(_ context.Context, user string) (string, error) {
	s.called("open")
	if s.openDM != nil {
		if err := s.openDM(user); err != nil {
			return "", err
		}
	}
	return "D" + user, nil
}

func (s *fakeSlack) Permalink(_ context.Context, channel, ts string) (string, error) {
	return "https://example.slack.com/archives/" + channel + "/p" + strings.ReplaceAll(ts, ".", ""), nil
}

func (s *fakeSlack) IsPublic(context.Context, string) (bool, error) { return true, nil }

func (s *fakeSlack) Users(context.Context) (map[string]remind.User, error) {
	s.called("users")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.usersErr != nil {
		return nil, s.usersErr
	}
	return s.users, nil
}

func (s *fakeSlack) ClosePoll(_ context.Context, id int64) (internbot.Poll, error) {
	s.called("close")
	p, err := s.closePoll(id)
	if errors.Is(err, internbot.ErrPollClosed) {
		err = nil
	}
	return p, err
}

func (s *fakeSlack) Members(context.Context, string) (map[string]bool, error) {
	return map[string]bool{yes: true, maybe: true, no: true}, nil
}

// fixture is an engine on a fresh database with one poll in channel, answered yes, maybe, no and yes
// (by gone), and one deadline 3 days after day0.
type fixture struct {
	db    *storage.DB
	store remind.Store
	slack *fakeSlack
	clock *clock
	cfg   *config.Config
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: day0}
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "internbot.db"), storage.WithNow(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := config.Default()
	cfg.Channel = channel
	cfg.Deadlines = []config.Deadline{{Name: deadlineName, Date: config.DateOf(day0).AddDays(3)}}
	var opts []internbot.PollOption
	for _, o := range cfg.Poll.Options {
		opts = append(opts, internbot.PollOption{Reaction: o.Reaction, Answer: o.Answer})
	}
	p, err := db.CreatePoll(ctx, internbot.Poll{Channel: channel, TS: "1765000000.000100", Question: "Applying?", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	var evs []internbot.ReactionEvent
	for i, a := range []struct{ user, reaction string }{
		{yes, "white_check_mark"}, {maybe, "thinking_face"}, {no, "x"}, {gone, "white_check_mark"},
	} {
		evs = append(evs, internbot.ReactionEvent{EventID: fmt.Sprint("Ev", i), PollID: p.ID, User: a.user, Reaction: a.reaction, Added: true,
			EventTS: fmt.Sprintf("1765000001.%06d", i)})
	}
	if _, err := db.ApplyReactions(ctx, evs); err != nil {
		t.Fatal(err)
	}
	fs := newFakeSlack()
	fs.closePoll = func(id int64) (internbot.Poll, error) { return db.ClosePoll(context.Background(), id) }
	return &fixture{db: db, store: db, slack: fs, clock: clk, cfg: cfg}
}

// engine is a new engine (a new process, as far as leases go) on the fixture.
func (f *fixture) engine(t *testing.T) *remind.Engine {
	t.Helper()
	e, err := remind.New(remind.Options{Config: f.cfg, Store: f.store, Slack: f.slack, Now: f.clock.Now,
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (f *fixture) reminder(t *testing.T) internbot.Reminder {
	t.Helper()
	r, err := f.db.Reminder(context.Background(), deadlineName, config.DateOf(f.clock.Now()).String())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) dm(t *testing.T, user string) internbot.DM {
	t.Helper()
	dms, err := f.db.DMs(context.Background(), deadlineName, config.DateOf(f.clock.Now()).String())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dms {
		if d.User == user {
			return d
		}
	}
	t.Fatalf("no DM planned for %s", user)
	return internbot.DM{}
}

func TestRun(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		f := newFixture(t)
		e := f.engine(t)
		rep, err := e.RunReport(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rep.Due, []string{deadlineName}) || !slices.Equal(rep.Posted, []string{deadlineName}) || rep.DMsSent != 2 {
			t.Errorf("report = %+v, want the deadline due and posted, 2 DMs", rep)
		}
		got := f.slack.sent(channel)
		if len(got) != 1 {
			t.Fatalf("%d channel reminders, want 1", len(got))
		}
		m := got[0].msg
		if m.Deadline != deadlineName || m.DaysLeft != 3 || m.To != "" || m.Poll == nil || m.Counts["yes"] != 2 || m.Link == "" {
			t.Errorf("channel reminder = %+v", m)
		}
		if r := f.reminder(t); r.State != internbot.ReminderPosted || r.TS != got[0].ts {
			t.Errorf("reminder = %+v, want posted as %s", r, got[0].ts)
		}
		for user, answer := range map[string]string{yes: "yes", maybe: "maybe"} {
			dms := f.slack.sent("D" + user)
			if len(dms) != 1 || dms[0].msg.To != user || dms[0].msg.Answer != answer {
				t.Errorf("DMs to %s = %+v, want one with answer %s", user, dms, answer)
			}
		}
		for _, user := range []string{no, gone} {
			if dms := f.slack.sent("D" + user); len(dms) != 0 {
				t.Errorf("%s got %d DMs, want none", user, len(dms))
			}
		}
	})

	t.Run("SecondRunSendsNothing", func(t *testing.T) {
		f := newFixture(t)
		for range 2 {
			if err := f.engine(t).Run(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.slack.count("post"); got != 3 {
			t.Errorf("%d posts over two runs, want 3 (the channel's and two DMs)", got)
		}
	})

	t.Run("Interrupted", func(t *testing.T) {
		// Stopped (a signal to `internbot remind`) after the first DM, at the safe point before the
		// next: the run must not look complete, or an outside scheduler would not run it again.
		f := newFixture(t)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		f.slack.post = func(_ context.Context, ch string, _ remind.Message) (bool, error) {
			if ch != channel {
				cancel()
			}
			return true, nil
		}
		rep, err := f.engine(t).RunReport(ctx)
		if rep.DMsSent == 2 {
			t.Fatal("every DM went out: not the interruption this test means")
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("RunReport = %v with %d of 2 DMs sent, want an error saying it was interrupted", err, rep.DMsSent)
		}
	})

	t.Run("NothingDue", func(t *testing.T) {
		f := newFixture(t)
		f.clock.Set(day0.AddDate(0, 0, 1)) // 2 days left: not in days_before
		rep, err := f.engine(t).RunReport(ctx)
		if err != nil || len(rep.Due) != 0 || f.slack.count("post") != 0 {
			t.Errorf("report = %+v, %v, %d posts; want nothing due and nothing posted", rep, err, f.slack.count("post"))
		}
	})
}

func TestRunLeaseHeldElsewhere(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	day := config.DateOf(day0).String()
	if _, claimed, err := f.db.ClaimReminder(ctx, deadlineName, day, channel, "another-process", 5*time.Minute); err != nil || !claimed {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	// It is sending the DMs too.
	if claimed, err := f.db.ClaimLease(ctx, "reminder-dms", "another-process", 5*time.Minute); err != nil || !claimed {
		t.Fatalf("claim = %v, %v", claimed, err)
	}
	e := f.engine(t)
	if err := e.Run(ctx); err == nil {
		t.Error("a run while another process holds the reminder succeeded; want an error, so that it is retried")
	}
	if got := f.slack.count("post"); got != 0 {
		t.Fatalf("%d posts while another process held the reminder, want 0", got)
	}
	// That process died: its lease runs out, and this one does the work.
	f.clock.Set(day0.Add(6 * time.Minute))
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(f.slack.sent(channel)); got != 1 {
		t.Errorf("%d channel reminders once the lease ran out, want 1", got)
	}
}

// failOnce is a store whose MarkReminderPosted and MarkDMSent fail once each: the process "died"
// between the post and its record.
type failOnce struct {
	remind.Store
	mu     sync.Mutex
	failed map[string]bool
}

var errCrash = errors.New("crashed before recording")

func (s *failOnce) fail(what string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed[what] {
		return false
	}
	s.failed[what] = true
	return true
}

func (s *failOnce) MarkReminderPosted(ctx context.Context, deadline, day, ts string) error {
	if s.fail("post") {
		return errCrash
	}
	return s.Store.MarkReminderPosted(ctx, deadline, day, ts)
}

func (s *failOnce) MarkDMSent(ctx context.Context, deadline, day, user, channel, ts string) error {
	if s.fail("dm") {
		return errCrash
	}
	return s.Store.MarkDMSent(ctx, deadline, day, user, channel, ts)
}

func TestRunCrashBetweenPostAndRecord(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.store = &failOnce{Store: f.db, failed: map[string]bool{}}
	if err := f.engine(t).Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("first run = %v, want the failed record", err)
	}
	first := f.slack.sent(channel)
	if len(first) != 1 {
		t.Fatalf("%d channel reminders, want 1", len(first))
	}
	f.store = f.db // restarted
	if err := f.engine(t).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(f.slack.sent(channel)); got != 1 {
		t.Errorf("%d channel reminders after the restart, want still 1 (found by its key)", got)
	}
	if r := f.reminder(t); r.State != internbot.ReminderPosted || r.TS != first[0].ts {
		t.Errorf("reminder = %+v, want posted as the first post's %s", r, first[0].ts)
	}
	for _, user := range []string{yes, maybe} {
		if got := len(f.slack.sent("D" + user)); got != 1 {
			t.Errorf("%s got %d DMs, want 1", user, got)
		}
		if d := f.dm(t, user); d.State != internbot.DMSent {
			t.Errorf("DM to %s = %+v, want sent", user, d)
		}
	}
}

func TestRunLostResponse(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// Slack posts the DM to yes, but the response never arrives.
	var lost sync.Once
	f.slack.post = func(_ context.Context, _ string, msg remind.Message) (bool, error) {
		err := error(nil)
		if msg.To == yes {
			lost.Do(func() { err = errors.New("chat.postMessage: context deadline exceeded") })
		}
		return true, err
	}
	if err := f.engine(t).Run(ctx); err == nil {
		t.Fatal("a run whose DM got no response succeeded; want an error, so that it is retried")
	}
	if d := f.dm(t, yes); d.State != internbot.DMPending || d.Attempts != 1 {
		t.Fatalf("DM to %s = %+v, want pending after one attempt", yes, d)
	}
	if err := f.engine(t).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(f.slack.sent("D" + yes)); got != 1 {
		t.Errorf("%s got %d DMs, want 1: the retry must find the first by its key", yes, got)
	}
	if d := f.dm(t, yes); d.State != internbot.DMSent {
		t.Errorf("DM to %s = %+v, want sent", yes, d)
	}
}

func TestRunUndeliverableDM(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.slack.openDM = func(user string) error {
		if user == maybe {
			return &remind.UndeliverableError{Reason: "user_disabled", Err: errors.New("conversations.open: user_disabled")}
		}
		return nil
	}
	rep, err := f.engine(t).RunReport(ctx)
	if err != nil {
		t.Fatalf("run = %v; a DM that can never be delivered is not a failed run", err)
	}
	want := []remind.UndeliverableDM{{Deadline: deadlineName, User: maybe, Reason: "user_disabled"}}
	if !slices.Equal(rep.Undeliverable, want) || rep.DMsSent != 1 {
		t.Errorf("report = %+v, want %+v and 1 DM sent", rep, want)
	}
	if d := f.dm(t, maybe); d.State != internbot.DMFailed || d.LastError != "conversations.open: user_disabled" {
		t.Errorf("DM to %s = %+v, want failed with Slack's error", maybe, d)
	}
	opens := f.slack.count("open")
	if _, err := f.engine(t).RunReport(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.slack.count("open"); got != opens {
		t.Errorf("the next run opened %d DMs; the undeliverable one was tried again", got-opens)
	}

	t.Run("OtherErrorsAreRetried", func(t *testing.T) {
		f := newFixture(t)
		f.slack.openDM = func(user string) error {
			if user == maybe {
				return errors.New("conversations.open: internal_error")
			}
			return nil
		}
		rep, err := f.engine(t).RunReport(ctx)
		if err == nil || len(rep.Undeliverable) != 0 {
			t.Fatalf("run = %+v, %v; want an error and nothing recorded as undeliverable", rep, err)
		}
		if d := f.dm(t, maybe); d.State != internbot.DMPending {
			t.Errorf("DM to %s = %+v, want pending", maybe, d)
		}
	})
}

func TestRunAcrossDST(t *testing.T) {
	// 2026-11-01 01:30 happens twice in Los Angeles. Even if the job ran at both, the day's
	// bookkeeping posts once; the schedule itself fires once that day.
	ctx := context.Background()
	la, _ := time.LoadLocation("America/Los_Angeles")
	f := newFixture(t)
	f.cfg.Timezone, f.cfg.TimezoneName = la, "America/Los_Angeles"
	f.cfg.Deadlines = []config.Deadline{{Name: deadlineName, Date: config.Date{Year: 2026, Month: time.November, Day: 4}}}
	e := f.engine(t)
	for _, at := range []time.Time{
		time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC), // 01:30 PDT
		time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC), // 01:30 PST
	} {
		f.clock.Set(at)
		if err := e.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := f.slack.sent(channel)
	if len(got) != 1 || got[0].msg.DaysLeft != 3 {
		t.Fatalf("channel reminders = %+v, want 1 with 3 days left", got)
	}
	s, err := remind.ParseSchedule("30 1 * * *", la)
	if err != nil {
		t.Fatal(err)
	}
	if next := s.Next(time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC)); !next.Equal(time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("after the first 01:30 the schedule fires at %v, want 01:30 PST the next day", next.UTC())
	}
}

// stuck is a guard against a test hanging: long enough that nothing waits on it when the code works.
const stuck = 5 * time.Second

func TestRunWaitingForTurnIsCancellable(t *testing.T) {
	// One run is in its DM fan-out (here: a post that does not return); a second one of the same
	// process (the console's `remind`) waits for its turn, and gives up when its context ends.
	f := newFixture(t)
	inPost, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.slack.post = func(context.Context, string, remind.Message) (bool, error) {
		once.Do(func() { close(inPost) })
		<-release
		return true, nil
	}
	e := f.engine(t)
	first := make(chan error, 1)
	go func() { first <- e.Run(context.Background()) }()
	<-inPost

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	second := make(chan error, 1)
	go func() { second <- e.Run(ctx) }()
	select {
	case err := <-second:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the waiting run = %v, want context.Canceled", err)
		}
	case <-time.After(stuck):
		t.Error("a run waiting for its turn did not give up when its context ended")
		defer func() { <-second }()
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// soon fires 10ms after any time near the real now (robfig/cron runs on the real clock), and never
// for the engine's clock's days, so there is no catch-up run.
type soon struct{}

func (soon) Next(t time.Time) time.Time {
	if d := time.Since(t); d > time.Hour || d < -time.Hour {
		return time.Time{}
	}
	return t.Add(10 * time.Millisecond)
}

// slowRecord is a store whose MarkReminderFailed takes a while, as a write does when SQLite is busy
// (busy_timeout is 5s), and then says it finished.
type slowRecord struct {
	remind.Store
	recorded chan error
}

// busy is longer than the half second the scheduler's stop used to grant a job after the drain.
const busy = time.Second

func (s *slowRecord) MarkReminderFailed(ctx context.Context, deadline, day, reason string) error {
	time.Sleep(busy)
	err := s.Store.MarkReminderFailed(ctx, deadline, day, reason)
	s.recorded <- err
	return err
}

func TestStopWaitsForTheRunningJob(t *testing.T) {
	// The drain deadline passes while a scheduled job's post is in flight: the post is abandoned, and
	// the job records that. stop returns only when it has: the caller closes the database next.
	f := newFixture(t)
	slow := &slowRecord{Store: f.db, recorded: make(chan error, 1)}
	f.store = slow
	inPost := make(chan struct{})
	var once sync.Once
	f.slack.post = func(ctx context.Context, _ string, _ remind.Message) (bool, error) {
		once.Do(func() { close(inPost) })
		<-ctx.Done()
		return false, ctx.Err()
	}
	drain, endDrain := context.WithCancel(context.Background())
	stop := remind.StartWith(f.engine(t), drain, soon{})
	<-inPost
	endDrain()
	stop()
	select {
	case err := <-slow.recorded:
		if err != nil {
			t.Errorf("recording the failed post: %v", err)
		}
	default:
		t.Error("stop returned while the job was still recording its failed post: the database would be closed under it")
		<-slow.recorded
	}
	if r := f.reminder(t); r.State != internbot.ReminderPending || r.LastError == "" {
		t.Errorf("reminder = %+v, want pending with the abandoned post's error", r)
	}
}
