package bot_test

import (
	"testing"
	"time"
)

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
	h.clock.Add(time.Minute) // Slack's clock moves on; the removal is a minute after the snapshot
	h.unreact(member, p, yes)
	if got := h.answer(p, member); got != "" {
		t.Errorf("answer after a live reaction_removed = %q, want none: the reconciliation was stamped ahead of Slack's clock", got)
	}
}
