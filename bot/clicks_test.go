package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/export"
	"github.com/internbot/internbot/slackemu"
)

// click presses user's button labelled label on the message at ts in ch and waits for the ack, which
// comes only once the click is stored.
func (h *harness) click(user, ch, ts, label string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	btns, err := h.emu.Buttons(ch, ts)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, b := range btns {
		if b.Text == label {
			if _, err := h.emu.Click(ctx, user, ch, ts, b.ActionID); err != nil {
				h.t.Fatalf("click %q: %v", label, err)
			}
			return
		}
	}
	h.t.Fatalf("no button %q on %s/%s: %+v", label, ch, ts, btns)
}

// lastEphemeral is the newest ephemeral the bot showed user in ch, once there are more than n.
func (h *harness) lastEphemeral(user, ch string, n int) slackemu.Message {
	h.t.Helper()
	var last slackemu.Message
	h.eventually("an ephemeral reply", func() bool {
		seen := 0
		for _, m := range h.emu.Messages(ch) {
			if m.Ephemeral && m.ToUser == user && m.Via == "response_url" {
				seen++
				last = m
			}
		}
		return seen > n
	})
	return last
}

// forgetClick presses "Forget my click" on the newest ephemeral confirming user's answer.
func (h *harness) forgetClick(user string) {
	h.t.Helper()
	m := h.lastEphemeral(user, channel, 0)
	h.click(user, channel, m.TS, "Forget my click")
}

func (h *harness) csv(p internbot.Poll) string {
	h.t.Helper()
	var buf bytes.Buffer
	if err := export.CSV(context.Background(), h.db, export.PollRef{Channel: p.Channel, TS: p.TS}, &buf); err != nil {
		h.t.Fatal(err)
	}
	return buf.String()
}

func TestPollButtons(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	btns, err := h.emu.Buttons(channel, p.TS)
	if err != nil {
		t.Fatal(err)
	}
	if len(btns) != 3 || btns[0].Text != "yes" || btns[1].Text != "maybe" || btns[2].Text != "no" {
		t.Fatalf("buttons: %+v", btns)
	}
	m, _ := h.emu.Message(channel, p.TS)
	if !strings.Contains(string(m.Blocks), `"accessibility_label":"Answer the poll: maybe"`) {
		t.Fatalf("no accessibility label: %s", m.Blocks)
	}
	if !strings.Contains(m.Text, "Admins can see who answered what") {
		t.Fatalf("the poll does not say who sees names: %q", m.Text)
	}

	// A click is an answer, stored before the ack, confirmed ephemerally with change and forget.
	h.click(member, channel, p.TS, "maybe")
	if got := h.answer(p, member); got != "maybe" {
		t.Fatalf("answer %q after clicking maybe", got)
	}
	e := h.lastEphemeral(member, channel, 0)
	if !strings.Contains(e.Text, "You answered *maybe*") || !strings.Contains(string(e.Blocks), "Change to yes") ||
		!strings.Contains(string(e.Blocks), "Forget my click") {
		t.Fatalf("confirmation: %q %s", e.Text, e.Blocks)
	}
	// "Change to no" on the ephemeral changes the answer and replaces the ephemeral.
	h.click(member, channel, e.TS, "Change to no")
	h.eventually("the confirmation replaced", func() bool {
		m, _ := h.emu.Message(channel, e.TS)
		return strings.Contains(m.Text, "You answered *no*")
	})
	if got := h.answer(p, member); got != "no" {
		t.Fatalf("answer %q after change to no", got)
	}
	h.eventually("the poll message's counts", func() bool {
		m, _ := h.emu.Message(channel, p.TS)
		return strings.Contains(m.Text, "*no* 1") && strings.Contains(m.Text, "1 answer")
	})
}

// Every interleaving of the rule (README, "Answering the poll"), end to end: the stored answer, the
// results an admin sees, the CSV export and the poll message's counts all follow it.
func TestClickReactionRuleEndToEnd(t *testing.T) {
	emoji := map[string]string{"yes": yes, "maybe": maybe, "no": no}
	cases := []struct {
		name  string
		steps []string // "click maybe", "react yes", "unreact yes", "forget"
		want  string
	}{
		{"click", []string{"click maybe"}, "maybe"},
		{"click then react", []string{"click maybe", "react yes"}, "yes"},
		{"react then click", []string{"react yes", "click maybe"}, "maybe"},
		{"removing the newer reaction falls back to the click", []string{"click maybe", "react yes", "unreact yes"}, "maybe"},
		{"removing the older reaction keeps the click", []string{"react yes", "click maybe", "unreact yes"}, "maybe"},
		{"click replaces click", []string{"click maybe", "click no"}, "no"},
		{"a replaced click does not come back", []string{"click maybe", "react yes", "click no", "unreact yes"}, "no"},
		{"forget falls back to the reaction", []string{"react yes", "click maybe", "forget"}, "yes"},
		{"forget the only click", []string{"click maybe", "forget"}, ""},
		{"forget under a newer reaction", []string{"click maybe", "react no", "forget"}, "no"},
		{"reactions removed, click stands", []string{"react yes", "react no", "click maybe", "unreact no", "unreact yes"}, "maybe"},
		{"reaction removed falls back to an older reaction over an older click", []string{"click maybe", "react no", "react yes", "unreact yes"}, "no"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			p := h.postPoll(channel)
			for _, s := range tc.steps {
				verb, arg, _ := strings.Cut(s, " ")
				switch verb {
				case "click":
					h.click(member, channel, p.TS, arg)
				case "react":
					h.react(member, p, emoji[arg])
				case "unreact":
					h.unreact(member, p, emoji[arg])
				case "forget":
					h.forgetClick(member)
				}
			}
			if got := h.answer(p, member); got != tc.want {
				t.Fatalf("answer %q, want %q", got, tc.want)
			}
			res := h.slash(admin, channel, "results").Text
			csv := h.csv(p)
			if tc.want == "" {
				if strings.Contains(res, "<@"+member+">") || strings.Contains(csv, member) {
					t.Fatalf("no answer, yet results %q / export %q name the member", res, csv)
				}
				return
			}
			if !strings.Contains(res, fmt.Sprintf("• *%s*: <@%s>", tc.want, member)) {
				t.Fatalf("results: %q", res)
			}
			if !strings.Contains(csv, member+","+tc.want+",") {
				t.Fatalf("export: %q", csv)
			}
			h.eventually("the poll message's counts", func() bool {
				m, _ := h.emu.Message(channel, p.TS)
				return strings.Contains(m.Text, fmt.Sprintf("*%s* 1", tc.want)) && strings.Contains(m.Text, "— 1 answer")
			})
		})
	}
}

// Slack may deliver an interaction twice; the click is stored once: a redelivery after the person
// forgot their click does not bring it back.
func TestClickRedeliveredStoredOnce(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	btns, _ := h.emu.Buttons(channel, p.TS)
	env, err := h.emu.ClickEnvelope(member, channel, p.TS, btns[1].ActionID) // maybe
	if err != nil {
		t.Fatal(err)
	}
	send(t, h.emu, env)
	if got := h.answer(p, member); got != "maybe" {
		t.Fatalf("answer %q", got)
	}
	h.forgetClick(member)
	if got := h.answer(p, member); got != "" {
		t.Fatalf("answer %q after forget", got)
	}
	again := env
	again.EnvelopeID, again.RetryAttempt, again.RetryReason = "", 1, "timeout"
	send(t, h.emu, again)
	if got := h.answer(p, member); got != "" {
		t.Fatalf("a redelivered click came back: answer %q", got)
	}
}

// Each interaction runs on its own goroutine: a "no" clicked before "Forget my click" can be stored
// after it, and must stay forgotten; a click after the forget counts.
func TestClickOlderThanForgetStaysForgotten(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.click(member, channel, p.TS, "maybe")
	btns, _ := h.emu.Buttons(channel, p.TS)
	late, err := h.emu.ClickEnvelope(member, channel, p.TS, btns[2].ActionID) // no, clicked now, delivered late
	if err != nil {
		t.Fatal(err)
	}
	h.forgetClick(member)
	send(t, h.emu, late)
	if got := h.answer(p, member); got != "" {
		t.Fatalf("a click older than the forget came back: answer %q", got)
	}
	h.click(member, channel, p.TS, "no")
	if got := h.answer(p, member); got != "no" {
		t.Fatalf("a click after the forget: answer %q", got)
	}
}

// setActionTS rewrites an interactive envelope's actions[0].action_ts.
func setActionTS(t testing.TB, env *slackemu.Envelope, ts string) {
	t.Helper()
	js, err := json.Marshal(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	m["actions"].([]any)[0].(map[string]any)["action_ts"] = ts
	env.Payload = m
}

// A click whose action_ts is ahead of Slack's clock counts as when the bot got it; delivered again, it
// is the same click still (known by its own action_ts), not a new one that would outrank the person's
// reaction in between.
func TestClickAheadOfSlackRedeliveredStoredOnce(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	btns, _ := h.emu.Buttons(channel, p.TS)
	env, err := h.emu.ClickEnvelope(member, channel, p.TS, btns[1].ActionID) // maybe
	if err != nil {
		t.Fatal(err)
	}
	setActionTS(t, &env, year2100)
	send(t, h.emu, env)
	if got := h.answer(p, member); got != "maybe" {
		t.Fatalf("answer %q", got)
	}
	h.clock.Add(slackMovesOn)
	h.react(member, p, yes)
	h.eventually("the poll message's counts", func() bool { // its chat.update reads Slack's clock again
		m, _ := h.emu.Message(channel, p.TS)
		return strings.Contains(m.Text, "*yes* 1")
	})
	again := env
	again.EnvelopeID, again.RetryAttempt, again.RetryReason = "", 1, "timeout"
	send(t, h.emu, again)
	if got := h.answer(p, member); got != "yes" {
		t.Fatalf("the redelivered click was stored as a new one: answer %q, want the newer reaction's yes", got)
	}
}

// A click on a closed poll (a client still showing the buttons) is answered politely and not stored.
func TestClickOnClosedPoll(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	btns, _ := h.emu.Buttons(channel, p.TS)
	env, err := h.emu.ClickEnvelope(member, channel, p.TS, btns[0].ActionID)
	if err != nil {
		t.Fatal(err)
	}
	h.slash(admin, channel, "close")
	h.eventually("the closed poll has no buttons", func() bool {
		b, _ := h.emu.Buttons(channel, p.TS)
		return len(b) == 0
	})
	send(t, h.emu, env)
	e := h.lastEphemeral(member, channel, 0)
	if !strings.Contains(e.Text, "This poll is closed, so your click was not recorded") {
		t.Fatalf("reply: %q", e.Text)
	}
	if got := h.answer(p, member); got != "" {
		t.Fatalf("a click on a closed poll was stored: %q", got)
	}
}

func withPoll(f func(*config.Poll)) harnessOption {
	return withConfig(func(c *config.Config) { f(&c.Poll) })
}

// postButtonsPoll posts a poll answered with buttons only (anonymous or hiding its counts).
func (h *harness) postButtonsPoll() internbot.Poll {
	h.t.Helper()
	r := h.slash(admin, channel, "poll")
	if !strings.Contains(r.Text, "Posted the poll") {
		h.t.Fatalf("poll: %q", r.Text)
	}
	p, err := h.db.CurrentPoll(context.Background(), channel)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// An anonymous poll shows nobody who answered what: not the results (an admin's included), not the
// export (in Slack or from the command line), and the poll message says so. Reactions, which Slack
// shows with names, are neither invited nor counted.
func TestAnonymousPoll(t *testing.T) {
	h := newHarness(t, withPoll(func(p *config.Poll) { p.Anonymous = true }))
	p := h.postButtonsPoll()
	if !p.Anonymous {
		t.Fatal("poll not stored as anonymous")
	}
	m, _ := h.emu.Message(channel, p.TS)
	if !strings.Contains(m.Text, "Anonymous: nobody, admins included, can see who answered what") || strings.Contains(m.Text, ":"+yes+":") {
		t.Fatalf("poll message: %q", m.Text)
	}
	if r := h.emu.Reactions(channel, p.TS); len(r) != 0 {
		t.Fatalf("the bot invited reactions: %v", r)
	}
	h.click(member, channel, p.TS, "yes")
	h.click(other, channel, p.TS, "no")
	h.react(admin, p, yes) // ignored: it would show the admin's name to everyone
	if got := h.answer(p, admin); got != "" {
		t.Fatalf("a reaction counted on an anonymous poll: %q", got)
	}
	res := h.slash(admin, channel, "results").Text
	if strings.Contains(res, "<@") || !strings.Contains(res, "*yes* 1") || !strings.Contains(res, "anonymous") {
		t.Fatalf("admin results: %q", res)
	}
	csv := h.csv(p)
	if strings.Contains(csv, member) || strings.Contains(csv, other) ||
		csv != strings.Join(export.Header, ",")+"\n"+channel+","+p.TS+",,no,\n"+channel+","+p.TS+",,yes,\n" {
		t.Fatalf("export: %q", csv)
	}
	// The same from /internship export, in the admin's DM.
	r := h.slash(admin, channel, "export")
	if !strings.Contains(r.Text, "counts only") {
		t.Fatalf("export reply: %q", r.Text)
	}
	files := h.emu.Files(admin)
	if len(files) != 1 || string(files[0].Content) != csv {
		t.Fatalf("uploaded: %+v", files)
	}
}

// A poll that hides its counts shows none (message, results, reminders) until it closes.
func TestHideResultsPoll(t *testing.T) {
	h := newHarness(t, withPoll(func(p *config.Poll) { p.HideResults = true }))
	p := h.postButtonsPoll()
	h.click(member, channel, p.TS, "yes")
	h.click(other, channel, p.TS, "yes")
	// Nothing to refresh: the message shows no counts, so the clicks change nothing on it.
	m, _ := h.emu.Message(channel, p.TS)
	if !strings.Contains(m.Text, "Counts are hidden until the poll closes") || strings.Contains(m.Text, "*yes* 2") {
		t.Fatalf("poll message: %q", m.Text)
	}
	for _, u := range []string{admin, member} {
		if res := h.slash(u, channel, "results").Text; strings.Contains(res, "*yes* 2") || strings.Contains(res, "<@") ||
			!strings.Contains(res, "hidden until the poll closes") {
			t.Fatalf("results for %s: %q", u, res)
		}
	}
	h.slash(admin, channel, "close")
	h.eventually("the final counts on the message", func() bool {
		m, _ := h.emu.Message(channel, p.TS)
		return strings.Contains(m.Text, "*yes* 2")
	})
	if res := h.slash(admin, channel, "results").Text; !strings.Contains(res, "*yes* 2") || !strings.Contains(res, "<@"+member+">") {
		t.Fatalf("results after close: %q", res)
	}
}

// /internship export uploads the CSV `internbot export` writes to the admin's DM, through the
// external upload flow; a member is refused.
func TestExportCommandUploadsToDM(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.click(member, channel, p.TS, "maybe")
	h.react(other, p, no)
	if r := h.slash(member, channel, "export"); !strings.Contains(r.Text, "is for admins") {
		t.Fatalf("member: %q", r.Text)
	}
	r := h.slash(admin, channel, "export")
	if !strings.Contains(r.Text, "Sent the answers") {
		t.Fatalf("admin: %q", r.Text)
	}
	files := h.emu.Files(admin)
	if len(files) != 1 {
		t.Fatalf("files in the admin's DM: %+v", files)
	}
	if got, want := string(files[0].Content), h.csv(p); got != want || !strings.Contains(got, member+",maybe,") {
		t.Fatalf("uploaded %q, want %q", got, want)
	}
	for _, m := range []string{"files.getUploadURLExternal", "files.completeUploadExternal"} {
		if h.emu.Calls(m) != 1 {
			t.Fatalf("%s called %d times", m, h.emu.Calls(m))
		}
	}
}

// A poll with 10 options, each answer at the 75-character limit, is a message Slack accepts (the
// emulator refuses what Slack refuses), with every button.
func TestPollTenOptionsWithinBlockKitLimits(t *testing.T) {
	h := newHarness(t, withPoll(func(p *config.Poll) {
		p.Options = nil
		for i := range 10 {
			p.Options = append(p.Options, config.PollOption{Reaction: fmt.Sprintf("emoji_%d", i), Answer: fmt.Sprintf("%02d", i) + strings.Repeat("é", 73)})
		}
		p.Question = strings.Repeat("q", 2990)
	}))
	r := h.slash(admin, channel, "poll")
	if !strings.Contains(r.Text, "Posted the poll") {
		t.Fatalf("poll: %q", r.Text)
	}
	p, err := h.db.CurrentPoll(context.Background(), channel)
	if err != nil {
		t.Fatal(err)
	}
	btns, _ := h.emu.Buttons(channel, p.TS)
	if len(btns) != 10 {
		t.Fatalf("%d buttons", len(btns))
	}
	h.click(member, channel, p.TS, btns[9].Text)
	e := h.lastEphemeral(member, channel, 0)
	var blocks []json.RawMessage
	if err := json.Unmarshal(e.Blocks, &blocks); err != nil || len(blocks) == 0 {
		t.Fatalf("confirmation blocks: %v %s", err, e.Blocks)
	}
}
