package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

const (
	yes   = "white_check_mark"
	maybe = "thinking_face"
	no    = "x"
)

// postPoll runs /internship poll as the admin and returns the stored poll.
func (h *harness) postPoll(ch string) internbot.Poll {
	h.t.Helper()
	r := h.slash(admin, ch, "poll")
	if !strings.Contains(r.Text, "Posted the poll") {
		h.t.Fatalf("poll: %q", r.Text)
	}
	p, err := h.db.CurrentPoll(context.Background(), ch)
	if err != nil {
		h.t.Fatalf("no poll stored: %v", err)
	}
	// The bot's own option reactions arrive as events too; wait until all three are on the message.
	h.eventually("the bot's option reactions", func() bool { return len(h.emu.Reactions(ch, p.TS)) == 3 })
	return p
}

func (h *harness) react(user string, p internbot.Poll, name string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := h.emu.AddReaction(ctx, user, p.Channel, p.TS, name); err != nil {
		h.t.Fatalf("react %s %s: %v", user, name, err)
	}
}

func (h *harness) unreact(user string, p internbot.Poll, name string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := h.emu.RemoveReaction(ctx, user, p.Channel, p.TS, name); err != nil {
		h.t.Fatalf("unreact %s %s: %v", user, name, err)
	}
}

// answer is user's stored answer ("" for none). Reactions are acked only after they are committed,
// so no waiting is needed once AddReaction has returned.
func (h *harness) answer(p internbot.Poll, user string) string {
	h.t.Helper()
	a, err := h.db.AnswerOf(context.Background(), p.ID, user)
	if errors.Is(err, internbot.ErrNotFound) {
		return ""
	} else if err != nil {
		h.t.Fatal(err)
	}
	return a.Answer
}

func TestPollMessage(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	m, ok := h.emu.Message(channel, p.TS)
	if !ok {
		t.Fatal("poll message not in the channel")
	}
	if m.Ephemeral || m.User != h.emu.BotUserID() {
		t.Errorf("poll message: ephemeral=%v user=%q, want a normal message from the bot", m.Ephemeral, m.User)
	}
	text := m.Text + string(m.Blocks)
	for _, want := range []string{"Are you applying to the internship?", ":white_check_mark: yes · :thinking_face: maybe · :x: no", "0 answers"} {
		if !strings.Contains(text, want) {
			t.Errorf("poll message lacks %q:\n%s", want, text)
		}
	}
	for _, name := range []string{yes, maybe, no} {
		if users := h.emu.Reactions(channel, p.TS)[name]; len(users) != 1 || users[0] != h.emu.BotUserID() {
			t.Errorf("reaction %s by %v, want only the bot", name, users)
		}
	}
	if p.Question != h.cfg.Poll.Question || len(p.Options) != 3 {
		t.Errorf("stored poll = %+v", p)
	}
}

func TestAnswerSemantics(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)

	h.react(member, p, maybe)
	if got := h.answer(p, member); got != "maybe" {
		t.Fatalf("after :thinking_face:, answer = %q", got)
	}
	h.react(member, p, yes)
	if got := h.answer(p, member); got != "yes" {
		t.Fatalf(":thinking_face: then :white_check_mark: gives %q, want yes", got)
	}
	h.unreact(member, p, yes)
	if got := h.answer(p, member); got != "maybe" {
		t.Fatalf("removing :white_check_mark: gives %q, want maybe", got)
	}
	h.unreact(member, p, maybe)
	if got := h.answer(p, member); got != "" {
		t.Fatalf("removing every reaction gives %q, want no answer", got)
	}
	h.react(member, p, no)
	if got := h.answer(p, member); got != "no" {
		t.Fatalf(":x: gives %q", got)
	}
	if r := h.slash(member, channel, "me"); !strings.Contains(r.Text, "*no*") {
		t.Errorf("/internship me = %q", r.Text)
	}
	if r := h.slash(other, channel, "me"); !strings.Contains(r.Text, "haven't answered") {
		t.Errorf("/internship me for someone without an answer = %q", r.Text)
	}
}

func TestIgnoredReactions(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	ctx := context.Background()

	// Another emoji on the poll, an option emoji on another message, the bot's own reaction.
	h.react(member, p, "tada")
	client := h.client()
	_, otherTS, err := client.PostMessageContext(ctx, channel, slackMsgText("unrelated"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.emu.AddReaction(ctx, other, channel, otherTS, yes); err != nil {
		t.Fatal(err)
	}
	// A reaction on something that is not a message (a file), shaped like Slack's.
	env := h.emu.ReactionEvent(other, channel, p.TS, yes, true)
	setItemType(t, &env, "file")
	send(t, h.emu, env)

	answers, err := h.db.Answers(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != 0 {
		t.Errorf("answers = %+v, want none", answers)
	}
}

func TestRedelivery(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	add := h.emu.ReactionEvent(member, channel, p.TS, yes, true)
	send(t, h.emu, add)
	remove := h.emu.ReactionEvent(member, channel, p.TS, yes, false)
	send(t, h.emu, remove)
	// Slack sends the first envelope again: same event_id, retry_attempt 1.
	add.RetryAttempt, add.RetryReason = 1, "timeout"
	add.EnvelopeID = ""
	send(t, h.emu, add)
	if got := h.answer(p, member); got != "" {
		t.Errorf("a redelivered reaction_added changed the answer to %q", got)
	}
}

func TestAdminOnly(t *testing.T) {
	h := newHarness(t)
	r := h.slash(member, channel, "poll")
	if !strings.Contains(r.Text, "for admins") {
		t.Errorf("non-admin poll: %q", r.Text)
	}
	if msgs := h.emu.Messages(channel); countFromBot(h, msgs) != 0 {
		t.Errorf("a non-admin's poll posted %d messages", countFromBot(h, msgs))
	}
	if _, err := h.db.CurrentPoll(context.Background(), channel); !errors.Is(err, internbot.ErrNotFound) {
		t.Errorf("a poll was stored: %v", err)
	}
	if r := h.slash(member, channel, "close"); !strings.Contains(r.Text, "for admins") {
		t.Errorf("non-admin close: %q", r.Text)
	}
}

func TestWorkspaceAdmins(t *testing.T) {
	// With no admins in the config, Slack's admins and owners are the bot's admins.
	h := newHarness(t, withConfig(func(c *config.Config) { c.Admins = nil }))
	h.emu.AddUser(slackemu.User{ID: "U0OWNER", Name: "owner", IsOwner: true})
	h.emu.SetMember(channel, "U0OWNER", true)
	if r := h.slash(admin, channel, "poll"); !strings.Contains(r.Text, "for admins") {
		t.Errorf("a non-admin (per users.info) could post: %q", r.Text)
	}
	if r := h.slash("U0OWNER", channel, "poll"); !strings.Contains(r.Text, "Posted the poll") {
		t.Errorf("the workspace owner could not post: %q", r.Text)
	}
	calls := h.emu.Calls("users.info")
	h.slash("U0OWNER", channel, "results")
	if h.emu.Calls("users.info") != calls {
		t.Errorf("admin status was not cached")
	}
}

func TestNotInChannel(t *testing.T) {
	h := newHarness(t)
	r := h.slash(admin, noBotChan, "poll")
	if !strings.Contains(r.Text, "/invite @internbot") {
		t.Errorf("poll where the bot is not a member: %q", r.Text)
	}
	if _, err := h.db.CurrentPoll(context.Background(), noBotChan); !errors.Is(err, internbot.ErrNotFound) {
		t.Errorf("a poll was stored: %v", err)
	}
}

func TestResults(t *testing.T) {
	h := newHarness(t)
	if r := h.slash(member, channel, "results"); !strings.Contains(r.Text, "no poll") {
		t.Errorf("results with no poll: %q", r.Text)
	}
	p := h.postPoll(channel)
	h.react(member, p, yes)
	h.react(other, p, maybe)
	h.react(admin, p, yes)

	r := h.slash(member, channel, "results")
	if !strings.Contains(r.Text, "*yes* 2 · *maybe* 1 · *no* 0 — 3 answers") {
		t.Errorf("member's results: %q", r.Text)
	}
	if strings.Contains(r.Text, "<@") {
		t.Errorf("a member sees who answered: %q", r.Text)
	}
	r = h.slash(admin, channel, "results")
	if !strings.Contains(r.Text, "*yes*: <@U0ADMIN>, <@U0MEMBER>") || !strings.Contains(r.Text, "*maybe*: <@U0OTHER>") || !strings.Contains(r.Text, "*no*: nobody") {
		t.Errorf("admin's results: %q", r.Text)
	}
}

func TestForget(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.react(member, p, yes)
	h.react(other, p, no)
	if r := h.slash(member, channel, "forget"); !strings.Contains(r.Text, "deleted everything") {
		t.Errorf("forget: %q", r.Text)
	}
	if got := h.answer(p, member); got != "" {
		t.Errorf("after forget, answer = %q", got)
	}
	if got := h.answer(p, other); got != "no" {
		t.Errorf("forget removed someone else's answer: %q", got)
	}
}

func TestClose(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.react(member, p, yes)
	if r := h.slash(admin, channel, "close"); !strings.Contains(r.Text, "Closed the poll") || !strings.Contains(r.Text, "*yes* 1") {
		t.Errorf("close: %q", r.Text)
	}
	h.react(other, p, yes)
	h.unreact(member, p, yes)
	if got := h.answer(p, member); got != "yes" {
		t.Errorf("a closed poll still counted a removal: %q", got)
	}
	if got := h.answer(p, other); got != "" {
		t.Errorf("a closed poll still counted %q", got)
	}
	h.eventually("the message to say closed", func() bool {
		m, _ := h.emu.Message(channel, p.TS)
		return strings.Contains(m.Text, "closed") && strings.Contains(m.Text, "*yes* 1")
	})
	if r := h.slash(admin, channel, "close"); !strings.Contains(r.Text, "already closed") {
		t.Errorf("second close: %q", r.Text)
	}
}

func TestLiveCountsCoalesced(t *testing.T) {
	const interval = 300 * time.Millisecond
	h := newHarness(t, withBotOptions(func(o *bot.Options) { o.UpdateInterval = interval }))
	p := h.postPoll(channel)
	before := h.emu.Calls("chat.update")
	users := 60
	start := time.Now()
	for i := range users {
		u := fmt.Sprintf("U0P%04d", i)
		h.emu.AddUser(slackemu.User{ID: u, Name: u})
		opt := []string{yes, maybe, no}[i%3]
		h.react(u, p, opt)
	}
	want := "*yes* 20 · *maybe* 20 · *no* 20 — 60 answers"
	h.eventually("final counts on the poll message", func() bool {
		m, _ := h.emu.Message(channel, p.TS)
		return strings.Contains(m.Text, want)
	})
	elapsed := time.Since(start)
	updates := h.emu.Calls("chat.update") - before
	if max := int(elapsed/interval) + 2; updates > max {
		t.Errorf("%d chat.update calls in %v; coalescing allows at most %d", updates, elapsed, max)
	}
	if updates >= users {
		t.Errorf("one chat.update per reaction (%d)", updates)
	}
}

func TestOfflineReconcile(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.react(member, p, yes)
	h.react(other, p, maybe)
	h.stop()

	// While the bot is away: member takes yes back, other adds no, admin answers maybe.
	h.emu.SetReactionQuietly(member, channel, p.TS, yes, false)
	h.emu.SetReactionQuietly(other, channel, p.TS, no, true)
	h.emu.SetReactionQuietly(admin, channel, p.TS, maybe, true)

	h.start()
	h.eventually("reconciliation", func() bool { return h.answer(p, admin) == "maybe" })
	if got := h.answer(p, member); got != "" {
		t.Errorf("member's answer = %q, want none (removed while offline)", got)
	}
	if got := h.answer(p, other); got != "no" {
		t.Errorf("other's answer = %q, want no (added while offline counts as newest)", got)
	}
	h.eventually("counts updated", func() bool {
		m, _ := h.emu.Message(channel, p.TS)
		return strings.Contains(m.Text, "*yes* 0 · *maybe* 1 · *no* 1")
	})
}

func TestReconnectReconciles(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.emu.SetReactionQuietly(member, channel, p.TS, yes, true) // lost between two sockets
	h.emu.DropSockets()
	h.eventually("reconnect", func() bool { return h.emu.Connections() >= 2 && h.bot.Connected() })
	h.eventually("reconciliation after reconnect", func() bool { return h.answer(p, member) == "yes" })
}

func countFromBot(h *harness, msgs []slackemu.Message) int {
	n := 0
	for _, m := range msgs {
		if m.User == h.emu.BotUserID() && !m.Ephemeral && m.Via != "response_url" {
			n++
		}
	}
	return n
}

// TestNewPollClosesPrevious: a channel has one current poll; posting another closes the old one, whose
// message shows its final counts and which stops counting.
func TestNewPollClosesPrevious(t *testing.T) {
	h := newHarness(t)
	old := h.postPoll(channel)
	h.react(member, old, yes)
	p := h.postPoll(channel)
	if p.ID == old.ID {
		t.Fatal("the second poll is the first")
	}
	h.eventually("the old poll's message to say closed", func() bool {
		m, _ := h.emu.Message(channel, old.TS)
		return strings.Contains(m.Text, "closed") && strings.Contains(m.Text, "*yes* 1")
	})
	h.react(other, old, yes)
	if got := h.answer(old, other); got != "" {
		t.Errorf("the closed poll counted %q", got)
	}
	h.react(other, p, no)
	if got := h.answer(p, other); got != "no" {
		t.Errorf("the new poll's answer = %q", got)
	}
}

// TestSkinTones: an option reaction with a skin tone ("+1::skin-tone-2", as Slack names it) is the
// same answer, live and when read back after a reconnect.
func TestSkinTones(t *testing.T) {
	h := newHarness(t, withConfig(func(c *config.Config) {
		c.Poll.Options = []config.PollOption{{Reaction: "+1", Answer: "yes"}, {Reaction: "-1", Answer: "no"}}
	}))
	r := h.slash(admin, channel, "poll")
	if !strings.Contains(r.Text, "Posted the poll") {
		t.Fatalf("poll: %q", r.Text)
	}
	p, err := h.db.CurrentPoll(context.Background(), channel)
	if err != nil {
		t.Fatal(err)
	}
	h.react(member, p, "+1::skin-tone-3")
	if got := h.answer(p, member); got != "yes" {
		t.Errorf("a toned +1 gave %q, want yes", got)
	}
	h.emu.SetReactionQuietly(other, channel, p.TS, "-1::skin-tone-5", true)
	h.emu.DropSockets()
	h.eventually("the toned reaction read back after the reconnect", func() bool { return h.answer(p, other) == "no" })
	if got := h.answer(p, member); got != "yes" {
		t.Errorf("after the reconnect, member's answer = %q, want yes", got)
	}
}

// failingStore fails ApplyReactions a number of times, as a full disk would.
type failingStore struct {
	*storage.DB
	failures atomic.Int32
}

func (f *failingStore) ApplyReactions(ctx context.Context, evs []internbot.ReactionEvent) ([]internbot.ReactionResult, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, errors.New("disk I/O error: database or disk is full")
	}
	return f.DB.ApplyReactions(ctx, evs)
}

// TestUnstoredReactionIsRedelivered: when a reaction cannot be committed, the bot does not ack it;
// Slack sends it again (retry_attempt 1) and this time it is stored, once.
func TestUnstoredReactionIsRedelivered(t *testing.T) {
	failing := &failingStore{}
	h := newHarness(t, withBotOptions(func(o *bot.Options) {
		failing.DB = o.Store.(*storage.DB)
		o.Store = failing
	}))
	p := h.postPoll(channel)
	h.emu.SetRedeliver(300 * time.Millisecond)
	failing.failures.Store(3) // the bot's own three attempts at the first delivery all fail

	// The reaction is in Slack's state too (as in Slack), so the reconcile that the failed commit
	// asks for reads it present rather than absent.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	ack, err := h.emu.AddReaction(ctx, member, channel, p.TS, yes) // waits for the ack, which only a redelivery can bring
	if err != nil {
		t.Fatal(err)
	}
	if waited := ack.At.Sub(start); waited < 300*time.Millisecond {
		t.Fatalf("acked after %v: before the redelivery, though nothing was stored", waited)
	}
	if got := h.answer(p, member); got != "yes" {
		t.Fatalf("answer after the redelivery = %q, want yes", got)
	}
	answers, err := h.db.ExportAnswers(context.Background(), p.ID)
	if err != nil || len(answers) != 1 {
		t.Fatalf("answers = %+v, %v; want exactly one", answers, err)
	}
	if !strings.Contains(h.logs.String(), "not stored and not acked") {
		t.Errorf("the failed commit was not logged")
	}
}

// flakyCurrentPoll is the database, except that CurrentPoll fails while fail is set.
// closeFailingStore fails every ClosePoll, as the bot's earlier two-step replace could meet.
type closeFailingStore struct{ bot.Store }

func (s closeFailingStore) ClosePoll(context.Context, int64) (internbot.Poll, error) {
	return internbot.Poll{}, errors.New("database is locked")
}

// TestNewPollClosesThePrevious: a channel has one open poll. Posting a new one closes the previous in
// the same write that stores the new one, so no failure in between (a close that fails) and no race
// between two admins leaves two polls counting side by side.
func TestNewPollClosesThePrevious(t *testing.T) {
	h := newHarness(t, withBotOptions(func(o *bot.Options) { o.Store = closeFailingStore{o.Store} }))
	h.postPoll(channel)
	second := h.postPoll(channel)
	open, err := h.db.OpenPolls(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].ID != second.ID {
		t.Errorf("open polls = %+v, want only the second", open)
	}
}
