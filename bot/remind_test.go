package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/remind"
	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

var applyBy = config.Date{Year: 2026, Month: time.December, Day: 15}

// withDeadline configures one deadline and the default days_before (14, 7, 3, 1, 0).
func withDeadline(zone string) harnessOption {
	return withConfig(func(c *config.Config) {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			panic(err)
		}
		c.Timezone, c.TimezoneName = loc, zone
		c.Deadlines = []config.Deadline{{Name: "Application deadline", Date: applyBy}}
	})
}

// startAt sets the harness clock before the bot starts (the bot catches up on start when its
// schedule's time has passed today).
func startAt(t time.Time) harnessOption { return func(h *harness) { h.clock.Set(t) } }

// reminders are the bot's posts in the reminder channel, other than the poll.
func (h *harness) reminders() []slackemu.Message {
	var out []slackemu.Message
	for _, m := range h.emu.Messages(channel) {
		if m.User == h.emu.BotUserID() && m.Via == "chat.postMessage" && strings.Contains(m.Text, ":alarm_clock:") {
			out = append(out, m)
		}
	}
	return out
}

// dms are the bot's DMs to user.
func (h *harness) dms(user string) []slackemu.Message {
	im := h.emu.IMChannel(user)
	if im == "" {
		return nil
	}
	var out []slackemu.Message
	for _, m := range h.emu.Messages(im) {
		if m.User == h.emu.BotUserID() {
			out = append(out, m)
		}
	}
	return out
}

func (h *harness) runReminders() error {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.bot.Reminders().Run(ctx)
}

func TestReminderWindows(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	h := newHarness(t, withDeadline("America/Los_Angeles"), startAt(time.Date(2026, 11, 30, 8, 0, 0, 0, la)))
	h.postPoll(channel)
	for _, tc := range []struct {
		day  int
		want string // "" = no reminder that day
	}{
		{day: 1, want: "14 days left"},
		{day: 2},
		{day: 7},
		{day: 8, want: "7 days left"},
		{day: 12, want: "3 days left"},
		{day: 13},
		{day: 14, want: "1 day left"},
		{day: 15, want: "*today*"},
		{day: 16},
	} {
		h.clock.Set(time.Date(2026, 12, tc.day, 9, 0, 0, 0, la))
		before := len(h.reminders())
		if err := h.runReminders(); err != nil {
			t.Fatalf("Dec %d: %v", tc.day, err)
		}
		if err := h.runReminders(); err != nil { // a second tick the same day posts nothing
			t.Fatalf("Dec %d: %v", tc.day, err)
		}
		got := h.reminders()[before:]
		switch {
		case tc.want == "" && len(got) != 0:
			t.Errorf("Dec %d: posted %q, want nothing", tc.day, got[0].Text)
		case tc.want != "" && len(got) != 1:
			t.Errorf("Dec %d: %d reminders, want exactly 1", tc.day, len(got))
		case tc.want != "" && !strings.Contains(got[0].Text, tc.want):
			t.Errorf("Dec %d: %q lacks %q", tc.day, got[0].Text, tc.want)
		}
	}
	last := h.reminders()[len(h.reminders())-1]
	for _, want := range []string{"Application deadline", "Tue, Dec 15, 2026", "Applying?", "see the poll", ":white_check_mark: yes"} {
		if !strings.Contains(last.Text, want) {
			t.Errorf("reminder lacks %q: %q", want, last.Text)
		}
	}
}

func TestReminderDayBoundaryFarFromUTC(t *testing.T) {
	// 10:30 UTC on Dec 11 is already 00:30 on Dec 12 in Kiritimati (UTC+14): 3 days left there, 4 in UTC.
	instant := time.Date(2026, 12, 11, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		zone string
		want int
	}{{"Pacific/Kiritimati", 1}, {"UTC", 0}, {"Pacific/Pago_Pago", 0}} {
		t.Run(tc.zone, func(t *testing.T) {
			h := newHarness(t, withDeadline(tc.zone), startAt(instant))
			if err := h.runReminders(); err != nil {
				t.Fatal(err)
			}
			got := h.reminders()
			if len(got) != tc.want {
				t.Fatalf("%d reminders, want %d", len(got), tc.want)
			}
			if tc.want == 1 && !strings.Contains(got[0].Text, "3 days left") {
				t.Errorf("reminder = %q", got[0].Text)
			}
		})
	}
}

func TestScheduleAcrossDST(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	t.Run("FallBackTicksPostOnce", func(t *testing.T) {
		// Even if the job ran at both 01:30s, the day's bookkeeping posts once.
		h := newHarness(t, withConfig(func(c *config.Config) {
			c.Timezone, c.TimezoneName = la, "America/Los_Angeles"
			c.Reminders.Schedule = "30 1 * * *"
			c.Deadlines = []config.Deadline{{Name: "Offer", Date: config.Date{Year: 2026, Month: time.November, Day: 4}}}
		}), startAt(time.Date(2026, 10, 31, 12, 0, 0, 0, la)))
		for _, at := range []time.Time{
			time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC), // 01:30 PDT
			time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC), // 01:30 PST
		} {
			h.clock.Set(at)
			if err := h.runReminders(); err != nil {
				t.Fatal(err)
			}
		}
		if got := h.reminders(); len(got) != 1 || !strings.Contains(got[0].Text, "3 days left") {
			t.Fatalf("reminders = %d, want 1 saying 3 days left", len(got))
		}
	})
	t.Run("SpringForwardDayPosts", func(t *testing.T) {
		h := newHarness(t, withConfig(func(c *config.Config) {
			c.Timezone, c.TimezoneName = la, "America/Los_Angeles"
			c.Reminders.Schedule = "30 2 * * *"
			c.Deadlines = []config.Deadline{{Name: "Offer", Date: config.Date{Year: 2027, Month: time.March, Day: 17}}}
		}), startAt(time.Date(2027, 3, 13, 12, 0, 0, 0, la)))
		s, _ := remind.ParseSchedule("30 2 * * *", la)
		h.clock.Set(s.Next(h.clock.Now()))
		if err := h.runReminders(); err != nil {
			t.Fatal(err)
		}
		if got := h.reminders(); len(got) != 1 || !strings.Contains(got[0].Text, "3 days left") {
			t.Fatalf("reminders on the spring-forward day = %d, want 1 saying 3 days left", len(got))
		}
	})
}

func TestReminderRestartSameDay(t *testing.T) {
	h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC)))
	h.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC))
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	h.restart() // starts after 09:00: its catch-up finds the day already done
	h.clock.Add(3 * time.Hour)
	calls := h.emu.Calls("chat.getPermalink") + h.emu.Calls("chat.postMessage")
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	if got := len(h.reminders()); got != 1 {
		t.Fatalf("%d reminders across a restart the same day, want 1", got)
	}
	if got := h.emu.Calls("chat.getPermalink") + h.emu.Calls("chat.postMessage"); got != calls {
		t.Errorf("a tick after the day's reminder was sent made %d Web API calls", got-calls)
	}
}

func TestReminderCatchUpOnStart(t *testing.T) {
	t.Run("AfterScheduledTime", func(t *testing.T) {
		h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 15, 0, 0, 0, time.UTC)))
		h.eventually("the catch-up reminder", func() bool { return len(h.reminders()) == 1 })
	})
	t.Run("BeforeScheduledTime", func(t *testing.T) {
		h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 8, 59, 0, 0, time.UTC)))
		h.slash(member, channel, "help") // the bot is up and has handled work
		if got := len(h.reminders()); got != 0 {
			t.Fatalf("%d reminders posted before the scheduled time", got)
		}
	})
}

// remindHarness has a poll with four people: yes, maybe, no, and yes-but-opted-out.
func remindHarness(t *testing.T, opts ...harnessOption) (*harness, internbot.Poll) {
	t.Helper()
	opts = append([]harnessOption{withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC))}, opts...)
	h := newHarness(t, opts...)
	p := h.postPoll(channel)
	h.react(admin, p, yes)
	h.react(member, p, maybe)
	h.react(other, p, no)
	h.emu.AddUser(slackemu.User{ID: "U0QUIET", Name: "quiet"})
	h.emu.SetMember(channel, "U0QUIET", true) // reminder DMs go only to people in the poll's channel
	h.react("U0QUIET", p, yes)
	if r := h.slash("U0QUIET", channel, "remind off"); !strings.Contains(r.Text, "no more reminder DMs") {
		t.Fatalf("remind off: %q", r.Text)
	}
	h.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC))
	return h, p
}

func TestReminderDMs(t *testing.T) {
	h, _ := remindHarness(t)
	for range 2 {
		if err := h.runReminders(); err != nil {
			t.Fatal(err)
		}
	}
	for user, want := range map[string]int{admin: 1, member: 1, other: 0, "U0QUIET": 0} {
		if got := len(h.dms(user)); got != want {
			t.Errorf("%s got %d DMs, want %d", user, got, want)
		}
	}
	dm := h.dms(member)[0]
	for _, want := range []string{"Application deadline", "3 days", "You answered *maybe*", "/internship remind off"} {
		if !strings.Contains(dm.Text, want) {
			t.Errorf("DM lacks %q: %q", want, dm.Text)
		}
	}
	if r := h.slash("U0QUIET", channel, "remind on"); !strings.Contains(r.Text, "you'll get reminder DMs") {
		t.Errorf("remind on: %q", r.Text)
	}
}

func TestReminder429(t *testing.T) {
	t.Run("ChannelPost", func(t *testing.T) {
		h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC)))
		h.postPoll(channel)
		h.emu.Fail("chat.postMessage", slackemu.Failure{Status: 429, RetryAfter: 1, Times: 3})
		h.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC))
		if err := h.runReminders(); err != nil {
			t.Fatal(err)
		}
		if got := len(h.reminders()); got != 1 {
			t.Fatalf("%d reminders after a 429, want 1", got)
		}
	})
	t.Run("DM", func(t *testing.T) {
		h, _ := remindHarness(t)
		if err := h.runReminders(); err != nil { // channel post and DMs succeed
			t.Fatal(err)
		}
		h.clock.Add(24 * time.Hour) // Dec 13: 2 days left, no reminder; Dec 14: 1 day left
		h.clock.Add(24 * time.Hour)
		h.emu.Fail("conversations.open", slackemu.Failure{Status: 429, RetryAfter: 1, Times: 2})
		h.emu.Fail("chat.postMessage", slackemu.Failure{Status: 429, RetryAfter: 1, Times: 2})
		if err := h.runReminders(); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{admin, member} {
			if got := len(h.dms(u)); got != 2 {
				t.Errorf("%s has %d DMs after two reminder days with 429s, want 2", u, got)
			}
		}
	})
	t.Run("FailedForGoodRetriedNextTick", func(t *testing.T) {
		h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC)))
		h.postPoll(channel)
		h.emu.Fail("chat.postMessage", slackemu.Failure{Error: "internal_error", Times: 1})
		h.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC))
		if err := h.runReminders(); err == nil || !strings.Contains(err.Error(), "internal_error") {
			t.Fatalf("first run: %v, want the failure reported", err)
		}
		if got := len(h.reminders()); got != 0 {
			t.Fatalf("%d reminders after a failure", got)
		}
		h.clock.Add(time.Hour)
		if err := h.runReminders(); err != nil {
			t.Fatal(err)
		}
		if got := len(h.reminders()); got != 1 {
			t.Fatalf("%d reminders at the next tick, want 1", got)
		}
	})
}

// crashingStore fails MarkDMSent after a number of DMs: the DM went out but the process "died"
// before recording it, the worst moment for exactly-once.
type crashingStore struct {
	*storage.DB
	left atomic.Int32
}

var errCrash = errors.New("simulated crash")

// MarkDMSending fails once the process has "died": nothing more goes out.
func (c *crashingStore) MarkDMSending(ctx context.Context, deadline, day, user string) error {
	if c.left.Load() < 0 {
		return errCrash
	}
	return c.DB.MarkDMSending(ctx, deadline, day, user)
}

func (c *crashingStore) MarkDMSent(ctx context.Context, deadline, day, user, channel, ts string) error {
	if c.left.Add(-1) < 0 {
		return errCrash
	}
	return c.DB.MarkDMSent(ctx, deadline, day, user, channel, ts)
}

func TestReminderCrashMidFanOut(t *testing.T) {
	h, p := remindHarness(t)
	for i := range 8 { // more recipients, so the crash lands in the middle
		u := "U0FAN" + string(rune('A'+i))
		h.emu.AddUser(slackemu.User{ID: u, Name: u})
		h.emu.SetMember(channel, u, true)
		h.react(u, p, yes)
	}
	h.stop()
	crashing := &crashingStore{DB: h.db}
	crashing.left.Store(3)
	h.opts.Store = crashing
	h.start()
	err := h.runReminders()
	if !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v, want the simulated crash", err)
	}
	// The process dies; a new one (with a new lease holder) takes over once the old lease runs out.
	h.stop()
	h.opts.Store = h.db
	h.start()
	h.clock.Add(6 * time.Minute)
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	recipients := []string{admin, member}
	for i := range 8 {
		recipients = append(recipients, "U0FAN"+string(rune('A'+i)))
	}
	for _, u := range recipients {
		if got := len(h.dms(u)); got != 1 {
			t.Errorf("%s got %d DMs across the crash, want exactly 1", u, got)
		}
	}
	if got := len(h.dms("U0QUIET")); got != 0 {
		t.Errorf("the opted-out user got %d DMs", got)
	}
}

func TestDeadlineCommands(t *testing.T) {
	h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)))
	for _, tc := range []struct {
		user, text, want string
	}{
		{admin, "deadline add 2026-12-20 Final round", "Added *Final round* on Sun, Dec 20, 2026 (19 days left)"},
		{admin, "deadline add 2026-12-20 final ROUND", "already a deadline called"},
		{admin, "deadline add 2026-02-30 Nope", "has no day 30"},
		{admin, "deadline add tomorrow Nope", "write dates as YYYY-MM-DD"},
		{admin, "deadline add 2026-11-30 Past", "is in the past"},
		{admin, "deadline add 2026-12-20", "Usage"},
		{admin, "deadline add 2026-12-20 Application deadline", "in the config file"},
		{admin, "deadline remove Application deadline", "comes from the config file"},
		{admin, "deadline remove Nothing like it", "no deadline called"},
		{admin, "deadline frob", "Usage"},
		{member, "deadline add 2026-12-24 Sneaky", "for admins"},
		{member, "deadlines", "• *Application deadline* — Tue, Dec 15, 2026 — 14 days left\n• *Final round* — Sun, Dec 20, 2026 — 19 days left"},
		{admin, "deadline remove final round", "Removed the deadline"},
		{member, "deadlines", "Application deadline"},
		{member, "remind maybe", "Usage"},
	} {
		r := h.slash(tc.user, channel, tc.text)
		if !strings.Contains(r.Text, tc.want) {
			t.Errorf("/internship %s: %q, want %q", tc.text, r.Text, tc.want)
		}
	}
	if r := h.slash(member, channel, "deadlines"); strings.Contains(r.Text, "Final round") {
		t.Errorf("a removed deadline is still listed: %q", r.Text)
	}
}

// TestReminderDMResponseLost: Slack posts a DM but the response never reaches the bot. The DM is not
// recorded as sent, and the next run that day finds it in the DM's history instead of sending it again.
func TestReminderDMResponseLost(t *testing.T) {
	h, _ := remindHarness(t)
	if err := h.runReminders(); err != nil { // the channel post and both DMs go out
		t.Fatal(err)
	}
	h.clock.Add(48 * time.Hour)                                                    // Dec 14: 1 day left
	h.emu.Fail("chat.postMessage", slackemu.Failure{LoseResponse: true, Times: 2}) // the channel post and the first DM
	if err := h.runReminders(); err == nil {
		t.Fatal("a run whose posts lost their responses reported no error")
	}
	h.clock.Add(time.Hour)
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	if got := len(h.reminders()); got != 2 {
		t.Errorf("%d channel reminders over two days, want 2", got)
	}
	for _, u := range []string{admin, member} {
		if got := len(h.dms(u)); got != 2 {
			t.Errorf("%s has %d DMs over two reminder days, want 2 (one a day)", u, got)
		}
	}
}

// TestReminderRetriedSameDay: the catch-up run's post fails; the bot tries again that day rather than
// waiting for tomorrow's tick, and posts once.
func TestReminderRetriedSameDay(t *testing.T) {
	failFirstPost := func(h *harness) { h.emu.Fail("chat.postMessage", slackemu.Failure{Error: "internal_error", Times: 1}) }
	h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 15, 0, 0, 0, time.UTC)), failFirstPost)
	h.eventually("the reminder, retried after a failure", func() bool { return len(h.reminders()) == 1 })
	h.slash(member, channel, "help") // the bot is still serving
	if got := len(h.reminders()); got != 1 {
		t.Fatalf("%d reminders, want exactly 1", got)
	}
}

// TestReminderLeaseHeldElsewhere: while another process (an outside `internbot remind`, say) holds
// today's reminder, this one posts nothing; once that lease runs out, it does the work, once.
func TestReminderLeaseHeldElsewhere(t *testing.T) {
	h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC)))
	h.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC))
	if _, ok, err := h.db.ClaimReminder(context.Background(), "Application deadline", "2026-12-12", channel, "another-process", 5*time.Minute); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if err := h.runReminders(); err == nil || !strings.Contains(err.Error(), "another internbot") {
		t.Fatalf("run while another process holds the reminder: %v", err)
	}
	if got := len(h.reminders()); got != 0 {
		t.Fatalf("%d reminders posted under another process's lease", got)
	}
	h.clock.Add(6 * time.Minute)
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	if got := len(h.reminders()); got != 1 {
		t.Fatalf("%d reminders after the lease ran out, want 1", got)
	}
}
