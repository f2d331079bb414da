package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/internbot/internbot/slackemu"
)

// Channels of the privacy tests: a private channel that other is not in, and a public one.
const (
	privChan = "C0PRIV"
	pubChan  = "C0PUB"
)

// addPrivateChannel adds privChan (admin, member and the bot; not other) to the workspace.
func (h *harness) addPrivateChannel() {
	h.emu.AddChannel(slackemu.Channel{ID: privChan, Name: "lab-interns", Private: true, Members: []string{admin, member, h.emu.BotUserID()}})
}

// leaks says what of the private poll text shows: its channel (as a mention or in a permalink), its
// counts, or who answered.
func leaks(text string) []string {
	var out []string
	for _, s := range []string{privChan, "answer", "*no*", "*yes*", "<@", "closed", "open"} {
		if strings.Contains(text, s) {
			out = append(out, s)
		}
	}
	return out
}

// TestPrivatePollStaysInItsChannel: results and me run outside a private channel's poll show it only
// to people in that channel, and then say which poll they mean.
func TestPrivatePollStaysInItsChannel(t *testing.T) {
	h := newHarness(t)
	h.addPrivateChannel()
	p := h.postPoll(privChan)
	h.react(member, p, no)

	// other is not in privChan: from a DM or a channel without a poll, nothing about it.
	for _, where := range []string{other, channel} {
		for _, cmd := range []string{"results", "me"} {
			r := h.slash(other, where, cmd)
			if l := leaks(r.all()); len(l) > 0 {
				t.Errorf("%s run by a non-member in %s shows %v: %q", cmd, where, l, r.Text)
			}
			if !strings.Contains(r.Text, "no poll") {
				t.Errorf("%s run by a non-member in %s: %q, want that there is no poll here", cmd, where, r.Text)
			}
		}
	}

	// member is in privChan: from a DM they see it, named.
	r := h.slash(member, member, "results")
	if !strings.Contains(r.Text, "<#"+privChan+">") || !strings.Contains(r.Text, "*no* 1") {
		t.Errorf("results in a member's DM: %q, want privChan's poll, named", r.Text)
	}
	r = h.slash(member, channel, "me")
	if !strings.Contains(r.Text, "<#"+privChan+">") || !strings.Contains(r.Text, "*no*") {
		t.Errorf("me in another channel for a member: %q, want their answer on privChan's poll, named", r.Text)
	}

	// An admin who left the channel no longer sees its counts or names from outside it (Slack tells
	// the bot with member_left_channel, which drops its cached member list).
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := h.emu.Join(ctx, privChan, admin, false); err != nil {
		t.Fatal(err)
	}
	r = h.slash(admin, admin, "results")
	if l := leaks(r.all()); len(l) > 0 {
		t.Errorf("results in the DM of an admin who left the channel shows %v: %q", l, r.Text)
	}
	// In the poll's channel itself nothing changes.
	if r := h.slash(member, privChan, "results"); !strings.Contains(r.Text, "*no* 1") {
		t.Errorf("results in the poll's channel: %q", r.Text)
	}
}

// TestReminderShowsOnlyAPublicPoll: the reminders channel has no poll of its own; a private channel's
// poll never appears in its reminder, a public channel's may, and reminder DMs go only to people who
// can still see the poll's channel.
func TestReminderShowsOnlyAPublicPoll(t *testing.T) {
	t.Run("PrivateOnly", func(t *testing.T) {
		h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC)))
		h.addPrivateChannel()
		p := h.postPoll(privChan)
		h.react(member, p, yes)
		h.react(admin, p, maybe)
		h.emu.SetMember(privChan, admin, false) // admin answered, then left
		h.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC))
		if err := h.runReminders(); err != nil {
			t.Fatal(err)
		}
		rs := h.reminders()
		if len(rs) != 1 {
			t.Fatalf("%d reminders, want 1", len(rs))
		}
		text := rs[0].Text + string(rs[0].Blocks)
		for _, s := range []string{privChan, "Applying?", "*yes* 1", "see the poll"} {
			if strings.Contains(text, s) {
				t.Errorf("the public reminder shows the private poll (%q): %q", s, rs[0].Text)
			}
		}
		if !strings.Contains(rs[0].Text, "3 days left") {
			t.Errorf("reminder = %q", rs[0].Text)
		}
		if dms := h.dms(member); len(dms) != 1 || !strings.Contains(dms[0].Text, privChan) {
			t.Errorf("the member who said yes got %d DMs, want 1 linking the poll: %v", len(dms), dms)
		}
		if dms := h.dms(admin); len(dms) != 0 {
			t.Errorf("someone who left the private channel got a DM about its poll: %q", dms[0].Text)
		}
	})
	t.Run("PublicElsewhere", func(t *testing.T) {
		h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC)))
		h.addPrivateChannel()
		h.emu.AddChannel(slackemu.Channel{ID: pubChan, Name: "interns", Members: []string{admin, member, other, h.emu.BotUserID()}})
		pub := h.postPoll(pubChan)
		h.react(other, pub, no)
		priv := h.postPoll(privChan) // newer
		h.react(member, priv, yes)
		h.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC))
		if err := h.runReminders(); err != nil {
			t.Fatal(err)
		}
		rs := h.reminders()
		if len(rs) != 1 {
			t.Fatalf("%d reminders, want 1", len(rs))
		}
		if strings.Contains(rs[0].Text, privChan) || !strings.Contains(rs[0].Text, "*no* 1") || !strings.Contains(rs[0].Text, pubChan) {
			t.Errorf("reminder = %q, want the public poll's counts and link", rs[0].Text)
		}
	})
}

// TestClosedPollSaysSo: reminders, reminder DMs and me on a closed poll say it is closed and give the
// final counts; none invites an answer.
func TestClosedPollSaysSo(t *testing.T) {
	h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC)))
	p := h.postPoll(channel)
	h.react(member, p, yes)
	h.react(other, p, no)
	if r := h.slash(admin, channel, "close"); !strings.Contains(r.Text, "Closed the poll") {
		t.Fatalf("close: %q", r.Text)
	}
	final := "*yes* 1 · *maybe* 0 · *no* 1 — 2 answers"

	for _, u := range []string{member, admin} {
		r := h.slash(u, channel, "me")
		if !strings.Contains(r.Text, "closed") || !strings.Contains(r.Text, final) || strings.Contains(r.Text, "React to it") {
			t.Errorf("me by %s on a closed poll: %q, want closed with the final counts", u, r.Text)
		}
	}

	h.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC))
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	rs := h.reminders()
	if len(rs) != 1 {
		t.Fatalf("%d reminders, want 1", len(rs))
	}
	if text := rs[0].Text; !strings.Contains(text, "closed") || !strings.Contains(text, final) || strings.Contains(text, "Answer by reacting") {
		t.Errorf("reminder for a closed poll: %q", text)
	}
	dms := h.dms(member)
	if len(dms) != 1 {
		t.Fatalf("%d DMs, want 1", len(dms))
	}
	if text := dms[0].Text; !strings.Contains(text, "closed") || !strings.Contains(text, final) || strings.Contains(text, "change it") {
		t.Errorf("DM for a closed poll: %q", text)
	}
}

// TestVisibilityUnknownShowsNothing: when Slack will not say who is in a poll's channel or whether it
// is public (a scope missing from an older install, say), the poll stays hidden; when the check fails
// for a while, the person gets an apology, never the poll.
func TestVisibilityUnknownShowsNothing(t *testing.T) {
	h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC)))
	h.addPrivateChannel()
	p := h.postPoll(privChan)
	h.react(member, p, yes)

	h.emu.Fail("conversations.members", slackemu.Failure{Error: "missing_scope"})
	r := h.slash(member, member, "results")
	if l := leaks(r.all()); len(l) > 0 || !strings.Contains(r.Text, "no poll") {
		t.Errorf("results when membership is unknown: %q", r.Text)
	}
	h.clock.Add(time.Minute) // the refusal's empty member list is no longer trusted
	h.emu.Fail("conversations.members", slackemu.Failure{Status: 503, Times: 10})
	r = h.slash(member, member, "me")
	if l := leaks(r.all()); len(l) > 0 || !strings.Contains(r.Text, "Sorry") {
		t.Errorf("me when conversations.members keeps failing: %q", r.Text)
	}
	h.emu.Fail("conversations.members", slackemu.Failure{}) // injects nothing: replaces the 503s left

	// The poll's channel made public, but conversations.info refused: not shown in the reminder.
	h.emu.AddChannel(slackemu.Channel{ID: privChan, Name: "lab-interns", Members: []string{admin, member, h.emu.BotUserID()}})
	h.emu.Fail("conversations.info", slackemu.Failure{Error: "missing_scope"})
	h.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC))
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	rs := h.reminders()
	if len(rs) != 1 {
		t.Fatalf("%d reminders, want 1", len(rs))
	}
	if strings.Contains(rs[0].Text, privChan) || strings.Contains(rs[0].Text, "*yes* 1") {
		t.Errorf("reminder when the channel's privacy is unknown: %q", rs[0].Text)
	}
}
