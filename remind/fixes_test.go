package remind_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/remind"
)

func TestRunUsersFailureStillSendsDMs(t *testing.T) {
	// users.list fails with nudges on: the answer DMs need no directory and go out; the run still
	// fails, so that it is retried for the nudges.
	f := newFixture(t)
	f.cfg.Reminders.Nudge = true
	f.slack.usersErr = errors.New("users.list: internal_error")
	rep, err := f.engine(t).RunReport(context.Background())
	if err == nil {
		t.Error("the run succeeded; want the users.list error, so that the nudges are retried")
	}
	if rep.DMsSent != 2 {
		t.Errorf("%d DMs sent, want 2 (yes and maybe)", rep.DMsSent)
	}
}

func TestDMDateTokenInRecipientsZone(t *testing.T) {
	// Configured in Los Angeles, read in Tokyo: noon in Los Angeles is the next morning in Tokyo,
	// where the DM counts the days left. The DM's instant falls on the deadline's date in Tokyo; the
	// channel's keeps the configured zone.
	la, _ := time.LoadLocation("America/Los_Angeles")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	f := newFixture(t)
	f.cfg.Timezone, f.cfg.TimezoneName = la, "America/Los_Angeles"
	f.slack.users = map[string]remind.User{yes: {ID: yes, TZ: "Asia/Tokyo"}, maybe: {ID: maybe}, no: {ID: no}}
	if err := f.engine(t).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := f.cfg.Deadlines[0].Date
	dms := f.slack.sent("D" + yes)
	if len(dms) != 1 {
		t.Fatalf("%d DMs to %s, want 1", len(dms), yes)
	}
	if got := config.DateOf(dms[0].msg.At.In(tokyo)); got != want {
		t.Errorf("the DM's date token shows %s in Tokyo, want %s", got, want)
	}
	ch := f.slack.sent(channel)
	if len(ch) != 1 {
		t.Fatalf("%d channel reminders, want 1", len(ch))
	}
	if got := config.DateOf(ch[0].msg.At.In(la)); got != want {
		t.Errorf("the channel's date token shows %s in Los Angeles, want %s", got, want)
	}
}

// unanswer takes user's answer off the fixture's poll.
func (f *fixture) unanswer(t *testing.T, user string) {
	t.Helper()
	ctx := context.Background()
	p, err := f.db.CurrentPoll(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.db.AnswerOf(ctx, p.ID, user)
	if err != nil {
		t.Fatal(err)
	}
	reaction := ""
	for _, o := range p.Options {
		if o.Answer == a.Answer {
			reaction = o.Reaction
		}
	}
	if _, err := f.db.ApplyReactions(ctx, []internbot.ReactionEvent{{EventID: "EvUn" + user, PollID: p.ID, User: user,
		Reaction: reaction, Added: false, EventTS: "1765000002.000001"}}); err != nil {
		t.Fatal(err)
	}
	if a, err := f.db.AnswerOf(ctx, p.ID, user); err == nil && a.Answer != "" {
		t.Fatalf("%s still answered %q", user, a.Answer)
	}
}

func TestNudge(t *testing.T) {
	ctx := context.Background()

	t.Run("LeaseHeldDoesNotUseUpTheDay", func(t *testing.T) {
		f := newFixture(t)
		f.unanswer(t, no)
		f.slack.users = map[string]remind.User{yes: {ID: yes}, maybe: {ID: maybe}, no: {ID: no}}
		// `internbot remind` is in its DM fan-out.
		if ok, err := f.db.ClaimLease(ctx, "reminder-dms", "another-process", 5*time.Minute); err != nil || !ok {
			t.Fatalf("claim = %v, %v", ok, err)
		}
		e := f.engine(t)
		nr, err := e.Nudge(ctx, "UADMIN")
		if !nr.Busy || err != nil || nr.Sent != 0 {
			t.Errorf("nudge while the DMs' lease is held = %+v, %v; want busy, nothing sent, no error", nr, err)
		}
		if err := f.db.ReleaseLease(ctx, "reminder-dms", "another-process"); err != nil {
			t.Fatal(err)
		}
		nr, err = e.Nudge(ctx, "UADMIN")
		if err != nil || nr.Already || nr.Sent != 1 {
			t.Errorf("nudge once the fan-out ended = %+v, %v; want 1 sent (the busy one did not use up the day)", nr, err)
		}
	})

	t.Run("NextDeadlineOnRecipientsDay", func(t *testing.T) {
		// 12:00 in Los Angeles on the first deadline's day is the next morning in Tokyo: the Tokyo
		// recipient is nudged about the second deadline, never told one "is in -1 days".
		la, _ := time.LoadLocation("America/Los_Angeles")
		f := newFixture(t)
		f.cfg.Timezone, f.cfg.TimezoneName = la, "America/Los_Angeles"
		first := config.DateOf(day0).AddDays(3)
		f.cfg.Deadlines = []config.Deadline{{Name: deadlineName, Date: first}, {Name: "Offer", Date: first.AddDays(5)}}
		f.unanswer(t, no)
		f.slack.users = map[string]remind.User{yes: {ID: yes}, maybe: {ID: maybe}, no: {ID: no, TZ: "Asia/Tokyo"}}
		f.clock.Set(first.In(la).Add(12 * time.Hour))
		nr, err := f.engine(t).Nudge(ctx, "UADMIN")
		if err != nil || nr.Sent != 1 {
			t.Fatalf("nudge = %+v, %v; want 1 sent", nr, err)
		}
		dms := f.slack.sent("D" + no)
		if len(dms) != 1 || dms[0].msg.Deadline != "Offer" || dms[0].msg.DaysLeft != 4 {
			t.Errorf("nudges to %s = %+v, want one about Offer with 4 days left", no, dms)
		}
	})

	t.Run("RunUnderWayIsBusy", func(t *testing.T) {
		// A reminder run of this process is in its fan-out (a post that does not return): the nudge
		// does not wait for it.
		f := newFixture(t)
		f.unanswer(t, no)
		f.slack.users = map[string]remind.User{yes: {ID: yes}, maybe: {ID: maybe}, no: {ID: no}}
		inPost, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		f.slack.post = func(context.Context, string, remind.Message) (bool, error) {
			once.Do(func() { close(inPost) })
			<-release
			return true, nil
		}
		e := f.engine(t)
		remind.SetTurnWait(e, time.Millisecond)
		run := make(chan error, 1)
		go func() { run <- e.Run(ctx) }()
		<-inPost
		done := make(chan struct{})
		var nr remind.NudgeReport
		var err error
		go func() { defer close(done); nr, err = e.Nudge(ctx, "UADMIN") }()
		select {
		case <-done:
			if !nr.Busy || err != nil {
				t.Errorf("nudge during a run = %+v, %v; want busy", nr, err)
			}
		case <-time.After(stuck):
			t.Error("the nudge waited for the whole run")
		}
		close(release)
		<-done
		if err := <-run; err != nil {
			t.Fatal(err)
		}
	})
}

// skipSeen is a log handler that says when cron skipped a run because the job was still running.
type skipSeen struct {
	slog.Handler
	mu   sync.Mutex
	arm  bool
	seen chan struct{}
}

func (h *skipSeen) Enabled(context.Context, slog.Level) bool { return true }
func (h *skipSeen) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.arm && r.Message == "skip" {
		h.arm = false
		close(h.seen)
	}
	return nil
}
func (h *skipSeen) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *skipSeen) WithGroup(string) slog.Handler      { return h }

func TestRescheduleKeepsOneRetryLoop(t *testing.T) {
	// A tick is in its retry loop (the post failed; it waits to try again) when a new zone makes the
	// scheduler plan again: the next firing is skipped, not a second retry loop beside the first.
	f := newFixture(t)
	f.cfg.Reminders.DM = false
	f.slack.post = func(context.Context, string, remind.Message) (bool, error) {
		return false, errors.New("chat.postMessage: internal_error")
	}
	h := &skipSeen{seen: make(chan struct{})}
	var mu sync.Mutex
	sleeping := 0
	second := make(chan struct{})
	first := make(chan struct{})
	e, err := remind.New(remind.Options{Config: f.cfg, Store: f.store, Slack: f.slack, Now: f.clock.Now, Logger: slog.New(h),
		Sleep: func(ctx context.Context, _ time.Duration) error {
			mu.Lock()
			sleeping++
			switch sleeping {
			case 1:
				close(first)
			case 2:
				close(second)
			}
			mu.Unlock()
			<-ctx.Done()
			return ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	stop := remind.StartWith(e, context.Background(), soon{})
	defer stop()
	<-first
	h.mu.Lock()
	h.arm = true
	h.mu.Unlock()
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	remind.NoteZone(e, tokyo)
	select {
	case <-h.seen:
	case <-second:
		t.Error("after the reschedule a second tick started its own retry loop beside the first")
	case <-time.After(stuck):
		t.Error("the scheduler neither skipped nor ran the job after the reschedule")
	}
}

func TestCloseAtByAnotherProcessReachesThisOne(t *testing.T) {
	// `internbot remind` (another process) closes the poll at poll.close_at; the running bot's next
	// run hands the closed poll to its Slack side once (the bot updates its cache and the message),
	// and not again on later runs.
	ctx := context.Background()
	f := newFixture(t)
	f.cfg.Poll.CloseAt = deadlineName
	at, _ := f.cfg.CloseAt()
	f.clock.Set(at.Add(time.Minute))
	if err := f.engine(t).Run(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := f.db.CurrentPoll(ctx, channel)
	if err != nil || !p.Closed() {
		t.Fatalf("poll = %+v, %v; want closed by the other process", p, err)
	}
	botSlack := newFakeSlack()
	botSlack.closePoll = func(id int64) (internbot.Poll, error) { return f.db.ClosePoll(ctx, id) }
	f.slack = botSlack
	bot := f.engine(t)
	for range 2 {
		if err := bot.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := botSlack.count("close"); got != 1 {
		t.Errorf("the bot's engine handed the poll closed elsewhere to its Slack side %d times, want 1", got)
	}
	if got := len(botSlack.sent(channel)); got != 0 {
		t.Errorf("the bot posted %d messages in the channel, want none (the closing note went out)", got)
	}
}
