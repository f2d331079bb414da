package bot_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/slackemu"
)

// zoneHarness is remindHarness's poll plus two people who answered yes from far-apart zones.
func zoneHarness(t *testing.T, people map[string]string, opts ...harnessOption) *harness {
	t.Helper()
	h, p := remindHarness(t, opts...)
	for id, tz := range people {
		h.emu.AddUser(slackemu.User{ID: id, Name: strings.ToLower(id), TZ: tz})
		h.emu.SetMember(channel, id, true)
		h.react(id, p, yes)
		h.eventually(id+"'s answer stored", func() bool { return h.answer(p, id) == "yes" })
	}
	return h
}

func TestReminderZonesKiribatiAndHonolulu(t *testing.T) {
	// UTC+14 and UTC−10 on the same deadline (Dec 15, schedule 09:00, 3 days before). Their mornings
	// are the same instant a calendar day apart: 19:00 UTC.
	const kiri, hono = "U0KIRI", "U0HONO"
	h := zoneHarness(t, map[string]string{kiri: "Pacific/Kiritimati", hono: "Pacific/Honolulu"})

	h.clock.Set(time.Date(2026, 12, 11, 19, 0, 0, 0, time.UTC)) // Dec 12 09:00 in Kiritimati, Dec 11 09:00 in Honolulu
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	if got := h.dms(kiri); len(got) != 1 || !strings.Contains(got[0].Text, "3 days") {
		t.Fatalf("Kiritimati's DMs on their Dec 12 = %+v, want one with 3 days left", got)
	}
	if got := h.dms(hono); len(got) != 0 {
		t.Fatalf("Honolulu got %d DMs on their Dec 11 (4 days left), want none", len(got))
	}
	if got := h.dms(admin); len(got) != 0 {
		t.Fatalf("a UTC person got a DM at 19:00 on Dec 11 (4 days left), want none")
	}
	// Dates are Slack date tokens each reader sees in their zone, with a plain fallback.
	if dm := h.dms(kiri)[0].Text; !strings.Contains(dm, "<!date^") || !strings.Contains(dm, "^{date_long}|Tue, Dec 15, 2026>") {
		t.Errorf("DM date is not a date token with a fallback: %q", dm)
	}
	// The scheduler wakes at the next morning in any zone in play, not only the configured one's.
	if got, want := h.bot.Reminders().Wake(time.Date(2026, 12, 12, 10, 0, 0, 0, time.UTC)), time.Date(2026, 12, 12, 19, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next wake after Dec 12 10:00 UTC = %v, want %v (the Kiritimati and Honolulu mornings)", got.UTC(), want)
	}

	h.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC)) // UTC's morning: 3 days left there
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(time.Date(2026, 12, 12, 19, 0, 0, 0, time.UTC)) // Dec 13 in Kiritimati (2 left), Dec 12 in Honolulu (3 left)
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	if got := h.dms(hono); len(got) != 1 || !strings.Contains(got[0].Text, "3 days") {
		t.Fatalf("Honolulu's DMs on their Dec 12 = %+v, want one with 3 days left", got)
	}
	if got := len(h.dms(kiri)); got != 1 {
		t.Errorf("Kiritimati got %d DMs, want still 1 (2 days left is not a reminder day)", got)
	}
	if got := len(h.dms(admin)); got != 1 {
		t.Errorf("UTC person got %d DMs, want 1", got)
	}
	// A restart and another run on the same days send nothing more.
	h.restart()
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{kiri, hono, admin} {
		if got := len(h.dms(u)); got != 1 {
			t.Errorf("%s has %d DMs after a restart, want 1", u, got)
		}
	}
}

func TestReminderZonesAcrossDST(t *testing.T) {
	// New York leaves daylight time on Nov 1, 2026 (09:00 moves from 13:00 to 14:00 UTC); Tokyo has
	// no DST. The deadline is Nov 4, so both are reminded on their Nov 1.
	const ny, tokyo = "U0NY", "U0TOKYO"
	tk, _ := time.LoadLocation("Asia/Tokyo")
	h := zoneHarness(t, map[string]string{ny: "America/New_York", tokyo: "Asia/Tokyo"}, withConfig(func(c *config.Config) {
		c.Timezone, c.TimezoneName = tk, "Asia/Tokyo"
		c.Deadlines = []config.Deadline{{Name: "Application deadline", Date: config.Date{Year: 2026, Month: time.November, Day: 4}}}
	}))
	h.clock.Set(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) // 09:00 in Tokyo
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	if got := len(h.dms(tokyo)); got != 1 {
		t.Fatalf("Tokyo got %d DMs at its 09:00, want 1", got)
	}
	// After UTC's 09:00 (the harness's other people), the next wake is New York's, in standard time.
	if got, want := h.bot.Reminders().Wake(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)), time.Date(2026, 11, 1, 14, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next wake = %v, want %v: New York's 09:00 in standard time", got.UTC(), want)
	}
	h.clock.Set(time.Date(2026, 11, 1, 13, 0, 0, 0, time.UTC)) // 08:00 EST: yesterday's offset would say 09:00
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	if got := len(h.dms(ny)); got != 0 {
		t.Fatalf("New York got %d DMs at 08:00 its time, want none yet", got)
	}
	h.clock.Set(time.Date(2026, 11, 1, 14, 0, 0, 0, time.UTC)) // 09:00 EST
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	if got := h.dms(ny); len(got) != 1 || !strings.Contains(got[0].Text, "3 days") {
		t.Fatalf("New York's DMs at its 09:00 = %+v, want one with 3 days left", got)
	}
	if got := len(h.dms(tokyo)); got != 1 {
		t.Errorf("Tokyo has %d DMs, want still 1", got)
	}
}

// nudgeHarness has nudges on; besides remindHarness's people, the channel has two who have not
// answered, a bot and a deactivated person.
func nudgeHarness(t *testing.T) *harness {
	t.Helper()
	h, _ := remindHarness(t, withConfig(func(c *config.Config) { c.Reminders.Nudge = true }))
	for _, u := range []slackemu.User{{ID: "U0UNDEC1", Name: "u1"}, {ID: "U0UNDEC2", Name: "u2"},
		{ID: "U0OTHERBOT", Name: "otherbot", IsBot: true}, {ID: "U0LEFT", Name: "left", Deleted: true}} {
		h.emu.AddUser(u)
		h.emu.SetMember(channel, u.ID, true)
	}
	return h
}

func TestNudgeOnceAcrossRestartAndCrash(t *testing.T) {
	h := nudgeHarness(t)
	h.stop()
	crashing := &crashingStore{DB: h.db}
	crashing.left.Store(2) // admin's and member's reminder DMs are recorded, then the process "dies"
	h.opts.Store = crashing
	h.start()
	if err := h.runReminders(); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v, want the simulated crash", err)
	}
	h.stop()
	h.opts.Store = h.db
	h.start()
	h.clock.Add(6 * time.Minute) // the dead process's lease runs out
	for range 2 {
		if err := h.runReminders(); err != nil {
			t.Fatal(err)
		}
		h.restart()
	}
	for user, want := range map[string]int{admin: 1, member: 1, "U0UNDEC1": 1, "U0UNDEC2": 1, other: 0, "U0QUIET": 0, "U0OTHERBOT": 0, "U0LEFT": 0} {
		if got := len(h.dms(user)); got != want {
			t.Errorf("%s got %d DMs, want %d", user, got, want)
		}
	}
	nudge := h.dms("U0UNDEC1")[0].Text
	for _, want := range []string{"Application deadline", "3 days", "have not answered", ":white_check_mark:", "remind off"} {
		if !strings.Contains(nudge, want) {
			t.Errorf("nudge lacks %q: %q", want, nudge)
		}
	}
}

func TestNudgeRemindOff(t *testing.T) {
	h := nudgeHarness(t)
	if r := h.slash("U0UNDEC1", channel, "remind off"); !strings.Contains(r.Text, "nudges") {
		t.Fatalf("remind off: %q", r.Text)
	}
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	if got := len(h.dms("U0UNDEC1")); got != 0 {
		t.Errorf("someone who said remind off got %d nudges", got)
	}
	if got := len(h.dms("U0UNDEC2")); got != 1 {
		t.Errorf("U0UNDEC2 got %d nudges, want 1", got)
	}
}

func TestNudgeCommand(t *testing.T) {
	h := nudgeHarness(t)
	h.clock.Set(time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)) // not a reminder day
	if r := h.slash(member, channel, "nudge"); strings.Contains(r.Text, "Nudged") {
		t.Fatalf("a non-admin nudged: %q", r.Text)
	}
	r := h.slash(admin, channel, "nudge")
	if !strings.Contains(r.Text, "Nudged 2 people") || !strings.Contains(r.Text, "Application deadline") {
		t.Fatalf("nudge: %q, want 2 people nudged about the deadline", r.Text)
	}
	if r := h.slash(admin, channel, "nudge"); !strings.Contains(r.Text, "already went out today") {
		t.Errorf("second nudge the same day: %q", r.Text)
	}
	for user, want := range map[string]int{"U0UNDEC1": 1, "U0UNDEC2": 1, admin: 0, other: 0, "U0OTHERBOT": 0, "U0LEFT": 0} {
		if got := len(h.dms(user)); got != want {
			t.Errorf("%s got %d DMs, want %d", user, got, want)
		}
	}
	if got := h.dms("U0UNDEC1")[0].Text; !strings.Contains(got, "5 days") {
		t.Errorf("nudge: %q, want 5 days left", got)
	}
	h.clock.Add(24 * time.Hour)
	if r := h.slash(admin, channel, "nudge"); !strings.Contains(r.Text, "Nudged 2 people") {
		t.Errorf("nudge the next day: %q", r.Text)
	}
}

func TestReminderSkipWeekends(t *testing.T) {
	// Dec 15, 2026 is a Tuesday: 3 days before is Saturday the 12th, so that reminder goes out on
	// Friday the 11th, once, and nothing on the weekend.
	h, _ := remindHarness(t, withConfig(func(c *config.Config) {
		c.Reminders.SkipWeekends = true
		c.Reminders.DaysBefore = []int{3}
	}))
	for _, day := range []int{11, 11, 12, 13} {
		h.clock.Set(time.Date(2026, 12, day, 9, 0, 0, 0, time.UTC))
		if err := h.runReminders(); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.reminders(); len(got) != 1 || !strings.Contains(got[0].Text, "4 days left") {
		t.Errorf("channel reminders = %d, want one on Friday (4 days left)", len(got))
	}
	if got := h.dms(member); len(got) != 1 || !strings.Contains(got[0].Text, "4 days") {
		t.Errorf("DMs = %+v, want one on Friday", got)
	}
}

func TestPollCloseAtWhileDown(t *testing.T) {
	h, p := remindHarness(t, withConfig(func(c *config.Config) { c.Poll.CloseAt = "application DEADLINE" }))
	h.stop()
	// Down across the end of Dec 15 (UTC): started again on the 16th, it closes the poll at once.
	h.clock.Set(time.Date(2026, 12, 16, 8, 0, 0, 0, time.UTC))
	h.start()
	closing := func() []slackemu.Message {
		var out []slackemu.Message
		for _, m := range h.emu.Messages(channel) {
			if m.Via == "chat.postMessage" && strings.Contains(m.Text, ":lock:") {
				out = append(out, m)
			}
		}
		return out
	}
	h.eventually("closing note", func() bool { return len(closing()) == 1 })
	h.eventually("poll message shows final counts", func() bool {
		m, ok := h.emu.Message(channel, p.TS)
		return ok && strings.Contains(strings.ToLower(m.Text), "closed")
	})
	for range 2 {
		h.restart()
		if err := h.runReminders(); err != nil {
			t.Fatal(err)
		}
	}
	if got := closing(); len(got) != 1 || !strings.Contains(got[0].Text, "Final counts") {
		t.Errorf("closing notes = %+v, want exactly one with the final counts", got)
	}
	if r := h.slash(admin, channel, "me"); !strings.Contains(r.Text, "closed") {
		t.Errorf("me after close_at: %q", r.Text)
	}
}
