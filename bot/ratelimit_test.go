package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/slackemu"
)

// waits records the waits the bot asks for, and waits only a token time: a Retry-After of 1 s is
// honoured in order, not in wall time.
type waits struct {
	mu sync.Mutex
	ds []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.ds = append(w.ds, d)
	w.mu.Unlock()
	return sleepShort(ctx, d)
}

// atLeast counts the waits of d or longer.
func (w *waits) atLeast(d time.Duration) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, x := range w.ds {
		if x >= d {
			n++
		}
	}
	return n
}

// TestRateLimitStorm: a long run of 429s on chat.update slows the poll message down but loses no
// answer, and once the storm passes the message shows the true counts.
func TestRateLimitStorm(t *testing.T) {
	w := &waits{}
	h := newHarness(t, withBotOptions(func(o *bot.Options) { o.Sleep = w.sleep }))
	p := h.postPoll(channel)
	const storm = 80
	before := h.emu.Calls("chat.update")
	h.emu.Fail("chat.update", slackemu.Failure{Status: 429, RetryAfter: 1, Times: storm})

	const n = 30
	for i := range n {
		u := fmt.Sprintf("U0R%04d", i)
		h.emu.AddUser(slackemu.User{ID: u, Name: u})
		h.react(u, p, []string{yes, maybe, no}[i%3])
	}
	answers, err := h.db.Answers(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != n {
		t.Errorf("%d answers stored during the storm, want %d", len(answers), n)
	}
	waitUntil(t, 10*time.Second, "the final counts on the poll message", func() bool {
		m, _ := h.emu.Message(channel, p.TS)
		return strings.Contains(m.Text, "*yes* 10 · *maybe* 10 · *no* 10 — 30 answers")
	}, h.logs)
	if got := h.emu.Calls("chat.update") - before; got <= storm {
		t.Errorf("%d chat.update calls, want more than the %d rate-limited ones", got, storm)
	}
	// Each 429 is waited out for its Retry-After, except the last of each call's retries (the
	// updater then tries again an interval later).
	if got := w.atLeast(time.Second); got < storm*5/6 {
		t.Errorf("waited out Retry-After %d times for %d 429s", got, storm)
	}
}

// TestRateLimitStormReminder: a reminder that meets a long run of 429s on chat.postMessage is posted
// once the storm passes, and exactly once, also across a restart.
func TestRateLimitStormReminder(t *testing.T) {
	w := &waits{}
	start := time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC) // before the 09:00 run
	h := newHarness(t,
		func(h *harness) { h.clock.Set(start) },
		withConfig(func(c *config.Config) {
			c.Reminders.DM = false
			c.Deadlines = []config.Deadline{{Name: "Apply", Date: config.Date{Year: 2026, Month: time.December, Day: 15}}}
		}),
		withBotOptions(func(o *bot.Options) { o.Sleep = w.sleep }))
	h.postPoll(channel)
	h.stop()

	reminders := func() int {
		c := 0
		for _, m := range h.emu.Messages(channel) {
			if m.User == h.emu.BotUserID() && strings.Contains(m.Text, ":alarm_clock:") {
				c++
			}
		}
		return c
	}
	const storm = 20
	h.emu.Fail("chat.postMessage", slackemu.Failure{Status: 429, RetryAfter: 1, Times: storm})
	h.clock.Set(start.Add(2 * time.Hour)) // the bot catches up today's 09:00 run on start
	h.start()
	waitUntil(t, 10*time.Second, "the reminder after the storm", func() bool { return reminders() == 1 }, h.logs)
	h.restart()
	h.stop() // the catch-up on this start has ended: it found the reminder posted
	if got := reminders(); got != 1 {
		t.Errorf("%d reminders posted, want exactly 1", got)
	}
	if got := w.atLeast(time.Second); got < storm {
		t.Errorf("waited out Retry-After %d times for %d 429s", got, storm)
	}
}

// stallingSleep stands in for the bot's Sleep: a wait of 30 s or more (a long Retry-After) blocks
// until release is called, so the test controls how long it lasts; shorter waits are token ones.
type stallingSleep struct {
	mu       sync.Mutex
	longest  time.Duration
	stalled  int
	released chan struct{}
	once     sync.Once
}

func newStallingSleep() *stallingSleep { return &stallingSleep{released: make(chan struct{})} }

func (s *stallingSleep) sleep(ctx context.Context, d time.Duration) error {
	if d < 30*time.Second {
		return sleepShort(ctx, d)
	}
	s.mu.Lock()
	s.longest = max(s.longest, d)
	s.stalled++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.stalled--
		s.mu.Unlock()
	}()
	select {
	case <-s.released:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *stallingSleep) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stalled
}

func (s *stallingSleep) longestWait() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.longest
}

func (s *stallingSleep) release() { s.once.Do(func() { close(s.released) }) }

// TestLongRetryAfterStallsNoOtherPoll: Slack answers one poll's chat.update and reactions.get with
// Retry-After: 3600. The bot waits at most a capped time, and while that poll waits, the other poll's
// message is still updated and its reactions are still reconciled after each reconnect.
func TestLongRetryAfterStallsNoOtherPoll(t *testing.T) {
	const channelB = "C0SECOND"
	s := newStallingSleep()
	h := newHarness(t, withBotOptions(func(o *bot.Options) { o.Sleep = s.sleep }))
	t.Cleanup(s.release) // before the harness stops the bot (cleanups run last-in first-out)
	h.emu.AddChannel(slackemu.Channel{ID: channelB, Name: "internship-2", Members: []string{admin, member, other, h.emu.BotUserID()}})
	pa := h.postPoll(channel)
	pb := h.postPoll(channelB)

	h.emu.Fail("chat.update", slackemu.Failure{Status: 429, RetryAfter: 3600, Channel: channel})
	h.react(member, pa, yes)
	h.eventually("poll A's update waiting out its Retry-After", func() bool { return s.waiting() == 1 })
	h.react(member, pb, yes)
	h.eventually("poll B's counts while poll A waits", func() bool {
		m, _ := h.emu.Message(channelB, pb.TS)
		return strings.Contains(m.Text, "*yes* 1 ·")
	})

	h.emu.Fail("reactions.get", slackemu.Failure{Status: 429, RetryAfter: 3600, Channel: channel})
	for i, u := range []string{other, admin} { // two reconnects while poll A still waits
		h.emu.SetReactionQuietly(u, channelB, pb.TS, maybe, true)
		conns := h.emu.Connections()
		h.emu.DropSockets()
		waitUntil(t, 10*time.Second, "a new connection", func() bool { return h.emu.Connections() > conns }, h.logs)
		h.eventually(fmt.Sprintf("poll B reconciled after reconnect %d", i+1), func() bool { return h.answer(pb, u) == "maybe" })
	}
	if got := s.longestWait(); got > time.Minute {
		t.Errorf("the bot asked to wait %v for a Retry-After of 3600 s, want at most a minute", got)
	}

	s.release()
	h.eventually("poll A's counts once its wait is over", func() bool {
		m, _ := h.emu.Message(channel, pa.TS)
		return strings.Contains(m.Text, "*yes* 1 ·")
	})
}
