package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/slackemu"
)

// privateChan is a private channel the admin is not in: its poll is none of their business.
const privateChan = "C0PRIVATE"

// privatePoll is an open poll in privateChan, where member has answered.
func (h *harness) privatePoll() internbot.Poll {
	h.t.Helper()
	h.emu.AddChannel(slackemu.Channel{ID: privateChan, Name: "secret", Private: true, Members: []string{member, h.emu.BotUserID()}})
	ctx := context.Background()
	p, err := h.db.CreatePoll(ctx, internbot.Poll{Channel: privateChan, TS: "1796115000.000200", Question: "Applying?", CreatedBy: member,
		Options: []internbot.PollOption{{Reaction: yes, Answer: "yes"}, {Reaction: no, Answer: "no"}}})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.db.ApplyClick(ctx, internbot.Click{PollID: p.ID, User: member, Option: 0, MessageTS: p.TS, ActionTS: "1796115001.000100"}); err != nil {
		h.t.Fatal(err)
	}
	h.restart() // the bot knows the poll as it knows every stored one
	return p
}

// forgedViewClick is user's client sending a block_actions from a Home view with a crafted value.
func (h *harness) forgedViewClick(user, actionID, value string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	in := h.emu.NewInteraction("block_actions", user, "", "")
	in.Fields["container"] = map[string]any{"type": "view", "view_id": "V1"}
	in.Fields["actions"] = []map[string]any{{"type": "button", "action_id": actionID, "block_id": "b", "value": value, "action_ts": "1796115600.000900"}}
	if _, err := h.emu.Interact(ctx, in); err != nil {
		h.t.Fatal(err)
	}
}

// waitDM waits for a DM to user saying want.
func (h *harness) waitDM(user, want string) {
	h.t.Helper()
	h.eventually("a DM saying "+want, func() bool {
		for _, m := range h.emu.Messages(user) {
			if strings.Contains(m.Text, want) {
				return true
			}
		}
		return false
	})
}

// TestAdminButtonsNeedTheChannel: an admin's Home buttons act only on polls of channels the admin is
// in; a stale Home or a forged value naming another channel's poll exports nothing and closes nothing.
func TestAdminButtonsNeedTheChannel(t *testing.T) {
	h := newHarness(t)
	p := h.privatePoll()
	id := fmt.Sprint(p.ID)

	h.forgedViewClick(admin, "admin_export", id)
	h.waitDM(admin, "not in")
	h.forgedViewClick(admin, "admin_close", id)
	h.waitDM(admin, "not in")
	if files := h.emu.Files(admin); len(files) != 0 {
		t.Fatalf("exported another channel's poll: %+v", files)
	}
	polls, err := h.db.Polls(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range polls {
		if q.ID == p.ID && q.Closed() {
			t.Fatal("an admin outside the channel closed its poll")
		}
	}
}

// TestForgedClickNeedsTheChannel: an answer button whose poll comes from the value (the Home's, the
// confirming ephemeral's) counts only from a member of the poll's channel.
func TestForgedClickNeedsTheChannel(t *testing.T) {
	h := newHarness(t)
	p := h.privatePoll()

	h.forgedViewClick(other, "poll_answer:1", fmt.Sprint(p.ID))
	h.waitDM(other, "not in")
	if got := h.answer(p, other); got != "" {
		t.Fatalf("a non-member's forged click stored %q", got)
	}

	// Closed, the refusal does not show the final counts either.
	if _, err := h.db.ClosePoll(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	h.restart()
	h.forgedViewClick(other, "poll_answer:1", fmt.Sprint(p.ID))
	h.eventually("a second refusal", func() bool {
		n := 0
		for _, m := range h.emu.Messages(other) {
			if strings.Contains(m.Text, "not in") {
				n++
			}
		}
		return n == 2
	})
	for _, m := range h.emu.Messages(other) {
		if strings.Contains(m.Text, "Final counts") || strings.Contains(m.Text, "*yes* 1") {
			t.Fatalf("a non-member saw the counts: %q", m.Text)
		}
	}
}

// TestHideResultsNudgeReply: with hide_results, "Nudged N people" would tell the admin how many have
// answered (members − N) before the poll closes; the reply says the number is hidden. An admin not in
// the poll's channel nudges nobody.
func TestHideResultsNudgeReply(t *testing.T) {
	h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)), // not a reminder day
		withConfig(func(c *config.Config) { c.Reminders.Nudge = true; c.Poll.HideResults = true }))
	p := h.postButtonsPoll()
	h.click(other, channel, p.TS, "yes")

	// Leaving and joining as in Slack: the member events tell the bot (it caches member lists).
	if _, err := h.emu.Join(context.Background(), channel, admin, false); err != nil {
		t.Fatal(err)
	}
	if r := h.slash(admin, channel, "nudge"); strings.Contains(r.Text, "Nudged") || !strings.Contains(r.Text, "not in") {
		t.Fatalf("an admin outside the poll's channel: %q", r.Text)
	}
	if got := len(h.dms(member)); got != 0 {
		t.Fatalf("an admin outside the channel nudged %d", got)
	}
	if _, err := h.emu.Join(context.Background(), channel, admin, true); err != nil {
		t.Fatal(err)
	}
	r := h.slash(admin, channel, "nudge")
	if !strings.Contains(r.Text, "Nudged") || !strings.Contains(r.Text, "hidden until the poll closes") || regexp.MustCompile(`\d+ (people|person)`).MatchString(r.Text) {
		t.Fatalf("nudge on a hide_results poll: %q", r.Text)
	}
	if got := len(h.dms(member)); got != 1 {
		t.Fatalf("member got %d nudges, want 1", got)
	}
}

// TestHideResultsHomeNotAnswered: the admin Home's "N in #c not answered" is members − answers, so
// with hide_results it is hidden until the poll closes, like the counts.
func TestHideResultsHomeNotAnswered(t *testing.T) {
	h := newHarness(t, withConfig(func(c *config.Config) { c.Poll.HideResults = true }))
	p := h.postButtonsPoll()
	h.click(member, channel, p.TS, "yes")
	home := homeText(h.openHome(admin))
	if regexp.MustCompile(`\d+ in <#`).MatchString(home) || !strings.Contains(home, "hidden until the poll closes") {
		t.Fatalf("open hide_results poll's admin Home:\n%s", home)
	}
	if _, err := h.db.ClosePoll(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	h.restart()
	if home := homeText(h.openHome(admin)); !strings.Contains(home, "2 in <#"+channel+"> not answered") {
		t.Fatalf("closed poll's admin Home should say who has not answered:\n%s", home)
	}
}

// TestForgetRefreshesHome: after `/internship forget` the person's open Home no longer shows the answer
// the bot has just deleted, on a closed poll too.
func TestForgetRefreshesHome(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.click(member, channel, p.TS, "maybe")
	// Closed: no poll message to refresh, so nothing but the forget itself can say the Home changed.
	if r := h.slash(admin, channel, "close"); !strings.Contains(strings.ToLower(r.Text), "closed") {
		t.Fatalf("close: %q", r.Text)
	}
	if home := homeText(h.openHome(member)); !strings.Contains(home, "Your answer: *maybe*") {
		t.Fatalf("Home before forget:\n%s", home)
	}
	if r := h.slash(member, channel, "forget"); !strings.Contains(r.Text, "deleted everything") {
		t.Fatalf("forget: %q", r.Text)
	}
	h.waitHome(member, "You didn't answer.")
}

// TestHomeManyDeadlinesFits: 200 long deadlines do not push the Home over Block Kit's 100 blocks (the
// emulator, as Slack, refuses such a view and the person would see no Home at all): the list is cut,
// and says where the rest is.
func TestHomeManyDeadlinesFits(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	day := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for i := range 200 {
		name := fmt.Sprintf("%03d %s", i, strings.Repeat("a long deadline name ", 25))
		if _, err := h.db.AddDeadline(ctx, internbot.Deadline{Name: name, Date: day.AddDate(0, 0, i).Format("2006-01-02"), CreatedBy: admin}); err != nil {
			t.Fatal(err)
		}
	}
	h.postPoll(channel)
	for _, user := range []string{admin, member} {
		v := h.openHome(user)
		var blocks []json.RawMessage
		if err := json.Unmarshal(v.Blocks, &blocks); err != nil || len(blocks) > 100 {
			t.Fatalf("%s's Home: %d blocks, %v", user, len(blocks), err)
		}
		home := homeText(v)
		if !strings.Contains(home, "000 a long") || !strings.Contains(home, "more: `/internship deadlines` lists them all") {
			t.Errorf("%s's Home does not start the list and say where the rest is", user)
		}
		if !strings.Contains(home, "About the internship") {
			t.Errorf("%s's Home lost the posting", user)
		}
	}
}

// TestPostPollShortcutOneCall: whether the bot is in the picked channel is one conversations.info
// (its is_member), not every page of conversations.members: a big channel must not eat the 3 seconds
// Slack gives a view_submission.
func TestPostPollShortcutOneCall(t *testing.T) {
	h := newHarness(t)
	members := []string{admin}
	for i := range 1000 {
		members = append(members, fmt.Sprintf("U%05d", i))
	}
	h.emu.AddChannel(slackemu.Channel{ID: "C0BIG", Name: "everyone", Members: members})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := h.emu.Shortcut(ctx, admin, "post_poll"); err != nil {
		t.Fatal(err)
	}
	v := h.modal(admin, "post_poll")
	pages, infos := h.emu.Calls("conversations.members"), h.emu.Calls("conversations.info")
	r := h.submit(admin, v, map[string]string{"poll_channel": "C0BIG"})
	if r.ResponseAction != "errors" || !strings.Contains(r.Errors["poll_channel"], "/invite @internbot") {
		t.Fatalf("response = %+v; want the invitation on the channel field", r)
	}
	if n := h.emu.Calls("conversations.members") - pages; n != 0 {
		t.Errorf("%d conversations.members calls to check the bot is in the channel, want 0", n)
	}
	if n := h.emu.Calls("conversations.info") - infos; n != 1 {
		t.Errorf("%d conversations.info calls, want 1", n)
	}
}
