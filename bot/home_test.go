package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/posting"
	"github.com/internbot/internbot/slackemu"
)

// openHome is user clicking into the Home tab; it returns the Home the bot published, failing the
// test unless that came within Slack's 3 seconds.
func (h *harness) openHome(user string) slackemu.View {
	h.t.Helper()
	before, _ := h.emu.HomeView(user)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := h.emu.OpenHome(ctx, user); err != nil {
		h.t.Fatalf("open home: %v", err)
	}
	var v slackemu.View
	h.eventually("the Home published", func() bool {
		var ok bool
		v, ok = h.emu.HomeView(user)
		return ok && v.Hash != before.Hash
	})
	if d := time.Since(start); d > 3*time.Second {
		h.t.Fatalf("Home published %v after app_home_opened", d)
	}
	return v
}

// homeText is the Home's blocks as JSON with Slack's escapes undone, for assertions.
func homeText(v slackemu.View) string {
	var blocks any
	_ = json.Unmarshal(v.Blocks, &blocks)
	js, _ := json.Marshal(blocks)
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(js))
}

// waitHome waits until user's Home says want.
func (h *harness) waitHome(user, want string) slackemu.View {
	h.t.Helper()
	var v slackemu.View
	h.eventually("the Home to say "+want, func() bool {
		var ok bool
		v, ok = h.emu.HomeView(user)
		return ok && strings.Contains(homeText(v), want)
	})
	return v
}

func TestHomeMember(t *testing.T) {
	h := newHarness(t)
	outsider := "U0OUTSIDE"
	h.emu.AddUser(slackemu.User{ID: outsider, Name: "out"})
	p := h.postPoll(channel)
	h.react(member, p, yes)
	if r := h.slash(admin, channel, "deadline add 2026-12-15 Applications close"); !strings.Contains(r.Text, "Added") {
		t.Fatalf("deadline add: %q", r.Text)
	}

	v := h.openHome(member)
	home := homeText(v)
	for _, want := range []string{
		"Your answer: *yes*", "<#" + channel + ">", // the poll they can see and their answer
		`"action_id":"poll_answer:1"`,                                                     // change or forget it
		"Applications close", "<!date^", "{date_long}|Tue, Dec 15, 2026>", "14 days left", // deadlines in the reader's own date format
		"*Reminder DMs:* on", "Turn reminder DMs off", // the reminder toggle
		"About the internship", // the posting
	} {
		if !strings.Contains(home, want) {
			t.Errorf("member's Home lacks %q:\n%s", want, home)
		}
	}
	for _, not := range []string{"Admin:", "admin_close", "admin_export", "admin_deadline"} {
		if strings.Contains(home, not) {
			t.Errorf("member's Home shows the admin's %q", not)
		}
	}
	// The date token is noon of the day in the bot's time zone (UTC here).
	noon := time.Date(2026, 12, 15, 12, 0, 0, 0, time.UTC).Unix()
	if !strings.Contains(home, fmt.Sprintf("<!date^%d^{date_long}|", noon)) {
		t.Errorf("date token not for noon of Dec 15 (%d):\n%s", noon, home)
	}

	// The answer changes: the Home is published again and says so.
	h.unreact(member, p, yes)
	h.react(member, p, maybe)
	h.waitHome(member, "Your answer: *maybe*")

	// A new deadline shows up too.
	h.slash(admin, channel, "deadline add 2026-12-20 Interviews")
	h.waitHome(member, "Interviews")

	// The reminder setting follows /internship remind.
	h.slash(member, channel, "remind off")
	h.waitHome(member, "*Reminder DMs:* off")

	// Someone outside the poll's channel sees no poll at all.
	out := homeText(h.openHome(outsider))
	if strings.Contains(out, channel) || strings.Contains(out, "poll_answer") {
		t.Errorf("the Home of someone outside the poll's channel shows the poll:\n%s", out)
	}
}

func TestHomeAdmin(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.react(member, p, yes)
	h.react(other, p, no)

	home := homeText(h.openHome(admin))
	for _, want := range []string{
		"Admin: *yes* 1 · *maybe* 0 · *no* 1 — 2 answers",
		"1 in <#" + channel + "> not answered", // admin, member, other are in it; the bot does not count
		`"action_id":"admin_close"`, `"action_id":"admin_export"`, `"action_id":"admin_deadline"`,
		"You haven't answered yet.",
	} {
		if !strings.Contains(home, want) {
			t.Errorf("admin's Home lacks %q:\n%s", want, home)
		}
	}
	if strings.Contains(home, "admin_reopen") {
		t.Errorf("an open poll offers Reopen:\n%s", home)
	}

	// The admin answers: their Home follows, with the counts.
	h.react(admin, p, maybe)
	h.waitHome(admin, "*maybe* 1 · *no* 1 — 3 answers")
	h.waitHome(admin, "0 in <#"+channel+"> not answered")

	// Closing the poll turns Close into Reopen and takes the answer buttons away.
	h.slash(admin, channel, "close")
	v := h.waitHome(admin, "admin_reopen")
	if s := homeText(v); strings.Contains(s, "poll_answer") || strings.Contains(s, "admin_close") {
		t.Errorf("a closed poll's Home still offers answers or Close:\n%s", s)
	}
}

// TestHomeBlockKitLimits: a Home with 30 long deadlines and a long posting keeps Block Kit's view
// limits (the emulator refuses a view that does not, as Slack does; checked here directly as well).
func TestHomeBlockKitLimits(t *testing.T) {
	h := newHarness(t, withConfig(func(c *config.Config) {
		c.Poll.Options[0].Answer = "yes, " + strings.Repeat("absolutely ", 10) // a label over 75 characters
		for i := range 60 {
			c.Posting.Sections = append(c.Posting.Sections, posting.Section{Key: fmt.Sprintf("extra%d", i),
				Title: strings.Repeat("T", 200), Body: strings.Repeat("long body ", 400)})
		}
	}))
	ctx := context.Background()
	for i := range 30 {
		name := fmt.Sprintf("%02d %s", i, strings.Repeat("deadline name ", 7))[:100]
		if _, err := h.db.AddDeadline(ctx, internbot.Deadline{Name: name, Date: fmt.Sprintf("2026-12-%02d", i+2), CreatedBy: admin}); err != nil {
			t.Fatal(err)
		}
	}
	p := h.postPoll(channel)
	h.react(member, p, yes)

	for _, user := range []string{admin, member} {
		v := h.openHome(user)
		var blocks []struct {
			Type      string `json:"type"`
			Text      *struct{ Text string }
			Accessory *struct{ Text *struct{ Text string } }
			Elements  []struct{ Text json.RawMessage } // a button's text is an object, a context's a string
		}
		if err := json.Unmarshal(v.Blocks, &blocks); err != nil {
			t.Fatal(err)
		}
		if len(blocks) > 100 {
			t.Errorf("%s: %d blocks, Slack allows 100 in a view", user, len(blocks))
		}
		for i, b := range blocks {
			if b.Text != nil && utf8.RuneCountInString(b.Text.Text) > 3000 {
				t.Errorf("%s: block %d has %d characters", user, i, utf8.RuneCountInString(b.Text.Text))
			}
			labels := []*struct{ Text string }{}
			if b.Accessory != nil {
				labels = append(labels, b.Accessory.Text)
			}
			for _, e := range b.Elements {
				var label struct{ Text string }
				if json.Unmarshal(e.Text, &label) == nil {
					labels = append(labels, &label)
				}
			}
			for _, l := range labels {
				if l != nil && utf8.RuneCountInString(l.Text) > 75 {
					t.Errorf("%s: block %d has a %d-character button label", user, i, utf8.RuneCountInString(l.Text))
				}
			}
		}
		home := homeText(v)
		if !strings.Contains(home, "29 ") || strings.Count(home, "<!date^") != 30 {
			t.Errorf("%s: not every deadline is on the Home (%d dates)", user, strings.Count(home, "<!date^"))
		}
	}
}

// TestHomeHiddenAndAnonymous: a poll with hide_results shows no counts on the Home, admins' included,
// until it closes; no Home ever names who answered what (an anonymous poll's promise).
func TestHomeHiddenAndAnonymous(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	p, err := h.db.CreatePoll(ctx, internbot.Poll{Channel: channel, TS: "1796115000.000100", Question: "Applying?", CreatedBy: admin,
		Options: []internbot.PollOption{{Reaction: yes, Answer: "yes"}, {Reaction: no, Answer: "no"}}, HideResults: true, Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.ApplyClick(ctx, internbot.Click{PollID: p.ID, User: member, Option: 0, MessageTS: p.TS, ActionTS: "1796115001.000100"}); err != nil {
		t.Fatal(err)
	}
	home := homeText(h.openHome(admin))
	if !strings.Contains(home, "counts hidden until the poll closes") || strings.Contains(home, "*yes* 1") {
		t.Errorf("admin's Home shows hidden counts:\n%s", home)
	}
	if strings.Contains(home, member) {
		t.Errorf("admin's Home names who answered:\n%s", home)
	}
	if _, err := h.db.ClosePoll(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	home = homeText(h.openHome(admin))
	if !strings.Contains(home, "*yes* 1 · *no* 0") || strings.Contains(home, member) {
		t.Errorf("closed poll: admin's Home should show counts, never names:\n%s", home)
	}
	// The member still sees their own answer.
	if m := homeText(h.openHome(member)); !strings.Contains(m, "Your answer: *yes*") {
		t.Errorf("member's Home:\n%s", m)
	}
}

func (h *harness) clickHome(user, actionID string, value ...string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := h.emu.ClickView(ctx, user, actionID, value...); err != nil {
		h.t.Fatalf("click %s on %s's Home: %v", actionID, user, err)
	}
}

// TestHomeButtons: the Home's answer buttons answer (the click is stored before the ack, and the Home
// follows), Forget withdraws the click, the reminder toggle flips the setting, and an admin's Export
// uploads the CSV to their DM.
func TestHomeButtons(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.openHome(member)

	h.clickHome(member, "poll_answer:1") // maybe
	if got := h.answer(p, member); got != "maybe" {
		t.Fatalf("answer after the Home's click = %q, want maybe (stored before the ack)", got)
	}
	h.waitHome(member, "Your answer: *maybe*")
	h.clickHome(member, "poll_forget")
	if got := h.answer(p, member); got != "" {
		t.Fatalf("answer after Forget = %q", got)
	}
	h.waitHome(member, "You haven't answered yet.")

	h.clickHome(member, "home_remind")
	h.waitHome(member, "*Reminder DMs:* off")
	if off, err := h.db.RemindersOff(context.Background(), member); err != nil || !off {
		t.Fatalf("RemindersOff = %v, %v", off, err)
	}

	h.clickHome(member, "home_details", "duties")
	h.eventually("the details modal", func() bool {
		v, ok := h.emu.OpenModal(member)
		return ok && v.CallbackID == "details"
	})

	h.react(other, p, yes)
	h.openHome(admin)
	h.clickHome(admin, "admin_export")
	h.eventually("the CSV in the admin's DM", func() bool {
		files := h.emu.Files(admin)
		return len(files) == 1 && string(files[0].Content) == h.csv(p)
	})
	// A member cannot use an admin's button (a forged click): they are told, nothing is uploaded.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	in := h.emu.NewInteraction("block_actions", member, "", "")
	in.Fields["container"] = map[string]any{"type": "view", "view_id": "V1"}
	in.Fields["actions"] = []map[string]any{{"type": "button", "action_id": "admin_export", "block_id": "b", "value": fmt.Sprint(p.ID), "action_ts": "1796115600.000900"}}
	if _, err := h.emu.Interact(ctx, in); err != nil {
		t.Fatal(err)
	}
	h.eventually("the member told", func() bool {
		for _, m := range h.emu.Messages(member) {
			if strings.Contains(m.Text, "Only admins") {
				return true
			}
		}
		return false
	})
	if files := h.emu.Files(member); len(files) != 0 {
		t.Fatalf("a member's forged Export uploaded %+v", files)
	}
}
