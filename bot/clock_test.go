package bot_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/slackemu"
)

// slackMovesOn is how far the tests move the emulator's clock between a snapshot and a live event. The
// bot reads Slack's clock from Date headers and lets it run in real time, so a jump must be longer than
// the test's own run (the event is after the snapshot) and shorter than the minute an event_ts may be
// ahead of the bot's reading (or it would be refused as from the future).
const slackMovesOn = 30 * time.Second

// withHostClockOffset runs the bot on a host clock d away from Slack's (the emulator's).
func withHostClockOffset(d time.Duration) harnessOption {
	return func(h *harness) { h.opts.Now = func() time.Time { return h.clock.Now().Add(d) } }
}

// TestReconcileOnSlacksClockAfterRestart: with the host clock 5 minutes fast, the reconciliation that
// follows a restart runs before any event has told the bot Slack's time. What it records must still
// be older than a live event that comes after it, so a reaction removed after the restart takes the
// answer away.
func TestReconcileOnSlacksClockAfterRestart(t *testing.T) {
	h := newHarness(t, withHostClockOffset(5*time.Minute))
	p := h.postPoll(channel)
	h.stop()
	h.emu.SetReactionQuietly(member, channel, p.TS, yes, true) // while the bot is away

	h.start()
	h.eventually("the reconciliation", func() bool { return h.answer(p, member) == "yes" })
	h.clock.Add(slackMovesOn) // the removal comes well after the snapshot
	h.unreact(member, p, yes)
	if got := h.answer(p, member); got != "" {
		t.Errorf("answer after a live reaction_removed = %q, want none: the reconciliation was stamped ahead of Slack's clock", got)
	}
}

// year2100 is an event_ts no real event carries.
const year2100 = "4102444800.000001"

// setEventTS rewrites an events_api envelope's event.event_ts.
func setEventTS(t testing.TB, env *slackemu.Envelope, ts string) {
	t.Helper()
	js, err := json.Marshal(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	m["event"].(map[string]any)["event_ts"] = ts
	env.Payload = m
}

func counterValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var n float64
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
			return n
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestEventTSFromTheFuture: an event whose event_ts is the year 2100 must not freeze that person's
// answer (the store keeps only newer facts). The bot refuses its timestamp, counts it, reads the poll
// back instead, and the person's later reactions count, before and after a restart.
func TestEventTSFromTheFuture(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, withBotOptions(func(o *bot.Options) { o.Metrics = bot.NewMetrics(reg) }))
	p := h.postPoll(channel)

	h.emu.SetReactionQuietly(member, channel, p.TS, yes, true) // the reaction is real; its event_ts is not
	env := h.emu.ReactionEvent(member, channel, p.TS, yes, true)
	setEventTS(t, &env, year2100)
	send(t, h.emu, env)
	h.eventually("the poll read back", func() bool { return h.answer(p, member) == "yes" })
	if got := counterValue(t, reg, "internbot_reaction_events_ahead_total"); got != 1 {
		t.Errorf("internbot_reaction_events_ahead_total = %v, want 1", got)
	}

	h.clock.Add(slackMovesOn)
	h.unreact(member, p, yes)
	if got := h.answer(p, member); got != "" {
		t.Errorf("after a real reaction_removed the answer is %q, want none", got)
	}
	h.restart()
	h.clock.Add(slackMovesOn)
	h.react(member, p, no)
	if got := h.answer(p, member); got != "no" {
		t.Errorf("after a restart, a real reaction gave %q, want no", got)
	}
}

// TestFutureFactInExistingDatabase: a database written before event timestamps were bounded may hold
// a fact from the year 2100. On start the bot moves it back to Slack's clock, so that neither that
// person's later reactions nor the reconciliation's stamps (once seeded from the newest stored event)
// stay behind it.
func TestFutureFactInExistingDatabase(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.stop()
	if _, err := h.db.ApplyReactions(context.Background(), []internbot.ReactionEvent{
		{EventID: "Ev2100", PollID: p.ID, User: member, Reaction: yes, Added: true, EventTS: year2100},
	}); err != nil {
		t.Fatal(err)
	}
	h.emu.SetReactionQuietly(member, channel, p.TS, yes, true)
	h.emu.SetReactionQuietly(other, channel, p.TS, maybe, true) // while the bot is away

	h.start()
	h.eventually("the reconciliation", func() bool { return h.answer(p, other) == "maybe" })
	h.clock.Add(slackMovesOn)
	h.unreact(member, p, yes)
	if got := h.answer(p, member); got != "" {
		t.Errorf("member's answer after a real reaction_removed = %q, want none\n%s", got, h.logs)
	}
	h.unreact(other, p, maybe)
	if got := h.answer(p, other); got != "" {
		t.Errorf("other's answer after a real reaction_removed = %q, want none: the reconciliation was stamped in the future", got)
	}
}
