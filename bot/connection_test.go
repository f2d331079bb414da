package bot_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

// waitUntil polls cond until it holds or d passes: for waits longer than harness.eventually's 5 s
// (a ping timeout, a connect backoff), never for a schedule.
func waitUntil(t testing.TB, d time.Duration, what string, cond func() bool, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s\nlogs:\n%s", d, what, logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReconnect covers each way Slack takes the socket away. After each the bot must be connected
// again, must have reconciled the poll (a reaction made while no socket was open produced no event)
// and must take live events on the new socket.
func TestReconnect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []harnessOption
		break_ func(h *harness)
		// heal undoes break_ once the bot has noticed (pings back on).
		heal func(h *harness)
	}{
		{name: "DisconnectRefreshRequested", break_: func(h *harness) { h.emu.Disconnect("refresh_requested") }},
		{name: "DisconnectWarning", break_: func(h *harness) { h.emu.Disconnect("warning") }},
		{name: "DisconnectLinkDisabled", break_: func(h *harness) { h.emu.Disconnect("link_disabled") }},
		{name: "AbruptClose", break_: func(h *harness) { h.emu.DropSockets() }},
		{
			// The emulator pings every second; the bot gives up on a socket after 2 s of silence.
			name:   "PingTimeout",
			opts:   []harnessOption{withBotOptions(func(o *bot.Options) { o.PingInterval = 2 * time.Second })},
			break_: func(h *harness) { h.emu.SetPings(false) },
			heal:   func(h *harness) { h.emu.SetPings(true) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts...)
			p := h.postPoll(channel)
			h.react(admin, p, no)
			before := h.emu.Connections()
			h.emu.SetReactionQuietly(member, channel, p.TS, yes, true) // no socket sees this one

			tc.break_(h)
			waitUntil(t, 15*time.Second, "a new connection", func() bool { return h.emu.Connections() > before }, h.logs)
			if tc.heal != nil {
				tc.heal(h)
			}
			waitUntil(t, 15*time.Second, "the bot to be connected again", h.bot.Connected, h.logs)
			h.eventually("reconciliation after the reconnect", func() bool { return h.answer(p, member) == "yes" })
			if got := h.answer(p, admin); got != "no" {
				t.Errorf("admin's answer = %q after the reconnect, want no", got)
			}

			// Live events flow on the new socket (AddReaction waits for the ack, which comes after the commit).
			waitUntil(t, 10*time.Second, "an open socket", func() bool { return h.emu.OpenSockets() > 0 }, h.logs)
			h.react(other, p, maybe)
			if got := h.answer(p, other); got != "maybe" {
				t.Errorf("a reaction on the new socket gave %q, want maybe", got)
			}
			h.eventually("counts on the message", func() bool {
				m, _ := h.emu.Message(channel, p.TS)
				return strings.Contains(m.Text, "*yes* 1 · *maybe* 1 · *no* 1")
			})
		})
	}
}

// TestConnectBackoff: apps.connections.open failing for a while is retried with a growing backoff
// (slack-go starts at 100 ms and doubles), not in a hot loop, and the bot comes back by itself.
func TestConnectBackoff(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	const failures = 5
	calls := h.emu.Calls("apps.connections.open")
	conns := h.emu.Connections()
	h.emu.Fail("apps.connections.open", slackemu.Failure{Status: 500, Times: failures})
	h.emu.SetReactionQuietly(member, channel, p.TS, maybe, true)
	start := time.Now()
	h.emu.DropSockets()

	h.eventually("the bot to notice", func() bool { return !h.bot.Connected() })
	waitUntil(t, 20*time.Second, "a connection after the failures", func() bool { return h.emu.Connections() > conns }, h.logs)
	elapsed := time.Since(start)
	waitUntil(t, 10*time.Second, "the bot to be connected", h.bot.Connected, h.logs)

	if got := h.emu.Calls("apps.connections.open") - calls; got != failures+1 {
		t.Errorf("apps.connections.open called %d times for %d failures, want %d (one retry per failure)", got, failures, failures+1)
	}
	// 100+200+400+800+1600 ms of backoff; half of it leaves room for timer slack but not for a hot loop.
	if elapsed < 1500*time.Millisecond {
		t.Errorf("%d failed connects retried within %v: no backoff", failures, elapsed)
	}
	h.eventually("reconciliation after the reconnect", func() bool { return h.answer(p, member) == "maybe" })
}

// TestRevokedTokenMidRun: once Slack revokes the tokens, every reconnect fails with invalid_auth.
// Retrying cannot help, so Run must end with ErrInvalidAuth rather than loop.
func TestRevokedTokenMidRun(t *testing.T) {
	h := newHarness(t)
	h.postPoll(channel)
	h.emu.RevokeTokens()
	select {
	case err := <-h.done:
		if !errors.Is(err, bot.ErrInvalidAuth) {
			t.Fatalf("Run = %v, want an error wrapping ErrInvalidAuth", err)
		}
		for _, secret := range []string{h.emu.BotToken(), h.emu.AppToken()} {
			if strings.Contains(err.Error(), secret) || strings.Contains(h.logs.String(), secret) {
				t.Errorf("a token appears in the error or the logs")
			}
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("Run still running 15 s after the tokens were revoked\nlogs:\n%s", h.logs)
	}
	if h.bot.Connected() {
		t.Error("Connected() after Run returned")
	}
	h.cancel()
	h.cancel = nil // already returned; stop has nothing to check
}

// TestShutdownKeepsAckedReactions streams reactions and shuts the bot down in the middle: every
// envelope the bot acked must be stored when Run returns, and after a restart the reconciliation picks
// up the reactions whose envelopes were never acked, so no answer is lost either way.
func TestShutdownKeepsAckedReactions(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	const n = 300
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("U0S%04d", i)
		h.emu.AddUser(slackemu.User{ID: users[i], Name: users[i]})
	}

	type sent struct {
		user    string
		pending *slackemu.Pending
	}
	// The stream goes on after the cancel, as Slack's would: the bot must stop taking envelopes, not
	// the socket stop carrying them.
	var out []sent
	ackBase := len(h.emu.Acks())
	midway := make(chan struct{})
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		for i, u := range users {
			if i == n/2 {
				close(midway)
			}
			// As Slack does: the reaction exists, then the event goes out.
			h.emu.SetReactionQuietly(u, channel, p.TS, yes, true)
			pd, err := h.emu.Send(context.Background(), h.emu.ReactionEvent(u, channel, p.TS, yes, true))
			if err != nil {
				continue // the socket is gone; the reaction is still on the message
			}
			out = append(out, sent{u, pd})
		}
	}()
	<-midway
	// Cancel only once the bot has acked some of the stream, so the test checks acked-then-kept.
	h.eventually("some of the stream acked", func() bool { return len(h.emu.Acks()) >= ackBase+20 })
	h.cancel() // SIGTERM, with envelopes in flight
	start := time.Now()
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return within 10 s of cancel\nlogs:\n%s", h.logs)
	}
	stoppedIn := time.Since(start)
	h.cancel = nil
	<-streamed

	acked := 0
	for _, s := range out {
		select {
		case <-s.pending.Done():
		default:
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := s.pending.Wait(ctx)
		cancel()
		if err != nil {
			continue
		}
		acked++
		if got := h.answer(p, s.user); got != "yes" {
			t.Errorf("%s's reaction was acked but the stored answer is %q", s.user, got)
		}
	}
	if acked == 0 {
		t.Errorf("no envelope acked")
	}
	t.Logf("sent %d, acked %d, Run returned %v after the wait began", len(out), acked, stoppedIn)

	h.start()
	h.eventually("every reaction stored after the restart", func() bool {
		answers, err := h.db.Answers(context.Background(), p.ID)
		return err == nil && len(answers) == n
	})
	h.eventually("the final count on the message", func() bool {
		m, _ := h.emu.Message(channel, p.TS)
		return strings.Contains(m.Text, fmt.Sprintf("*yes* %d", n))
	})
}

// TestShutdownMidReminder cancels the bot while its catch-up reminder job is sending DMs: the job
// stops at a safe point, Run returns promptly, and after the restart every DM and the channel post
// have been sent exactly once.
func TestShutdownMidReminder(t *testing.T) {
	const n = 40
	start := time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC) // before the 09:00 run: no catch-up yet
	h := newHarness(t,
		func(h *harness) { h.clock.Set(start) },
		withConfig(func(c *config.Config) {
			c.Reminders.DM = true
			c.Deadlines = []config.Deadline{{Name: "Apply", Date: config.Date{Year: 2026, Month: time.December, Day: 15}}}
		}),
		withBotOptions(func(o *bot.Options) { o.DMInterval = 20 * time.Millisecond }))
	p := h.postPoll(channel)
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("U0D%04d", i)
		h.emu.AddUser(slackemu.User{ID: users[i], Name: users[i]})
		h.emu.SetMember(channel, users[i], true)
		h.react(users[i], p, yes)
	}
	h.stop()

	dmsTo := func(u string) int {
		im := h.emu.IMChannel(u)
		if im == "" {
			return 0
		}
		c := 0
		for _, m := range h.emu.Messages(im) {
			if m.User == h.emu.BotUserID() {
				c++
			}
		}
		return c
	}
	sentDMs := func() int {
		c := 0
		for _, u := range users {
			c += dmsTo(u)
		}
		return c
	}
	channelReminders := func() int {
		c := 0
		for _, m := range h.emu.Messages(channel) {
			if m.User == h.emu.BotUserID() && strings.Contains(m.Text, ":alarm_clock:") {
				c++
			}
		}
		return c
	}

	h.clock.Set(start.Add(2 * time.Hour)) // 10:00: the bot catches up today's reminder on start
	h.start()
	h.eventually("some DMs", func() bool { return sentDMs() >= 3 })
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return within 10 s of cancel\nlogs:\n%s", h.logs)
	}
	h.cancel = nil
	t.Logf("%d of %d DMs sent before the shutdown", sentDMs(), n)

	h.start()
	waitUntil(t, 15*time.Second, "every DM", func() bool { return sentDMs() >= n }, h.logs)
	h.stop() // waits for the job to end, so nothing more can be posted after the counts below
	for _, u := range users {
		if got := dmsTo(u); got != 1 {
			t.Errorf("%s got %d DMs, want 1", u, got)
		}
	}
	if got := channelReminders(); got != 1 {
		t.Errorf("%d reminders in the channel across the restarts, want 1", got)
	}
	dms, err := h.db.DMs(context.Background(), "Apply", "2026-12-08")
	if err != nil {
		t.Fatal(err)
	}
	for _, dm := range dms {
		if dm.State != "sent" {
			t.Errorf("DM to %s is %q in the database", dm.User, dm.State)
		}
	}
}

// TestOversizedFrameEndsOnlyThatConnection: a peer that sends one 64 MB frame must cost the bot a
// reconnect, not its memory (without a read limit slack-go buffers and decodes the whole frame) and
// not its life; the bot works on the new connection.
func TestOversizedFrameEndsOnlyThatConnection(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	before := h.emu.Connections()

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	const size = 64 << 20
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := h.emu.SendOversized(ctx, size)
	allocated := func() uint64 {
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	// Either the bot drops the connection (and reconnects) or it reads the frame.
	waitUntil(t, 15*time.Second, "a reconnect or the frame read", func() bool {
		return h.emu.Connections() > before || allocated() > size
	}, h.logs)
	got := allocated()
	t.Logf("SendOversized: %v; allocated %d KiB meanwhile, heap %d -> %d KiB", err, got>>10, m0.HeapAlloc>>10, m1.HeapAlloc>>10)
	// Everything allocated in this process meanwhile (the emulator streams from a 64 KiB buffer) stays
	// far below the frame: the bot refused it from its header.
	if got > size/8 {
		t.Fatalf("%d MiB allocated while a %d MiB frame arrived: the frame was read", got>>20, size>>20)
	}
	waitUntil(t, 10*time.Second, "the bot to be connected again", h.bot.Connected, h.logs)
	h.react(member, p, yes)
	if got := h.answer(p, member); got != "yes" {
		t.Errorf("a reaction after the reconnect gave %q, want yes", got)
	}
}

// TestShutdownWhileReminderPostHangs: the start-up catch-up reminder is in a chat.postMessage that
// Slack does not answer. A cancel (SIGTERM) must make Run return within the bound the README promises,
// whatever Slack does with the request, and the reminder must still be posted at most once: the
// abandoned request is found by the next run's metadata lookup instead of being sent again.
func TestShutdownWhileReminderPostHangs(t *testing.T) {
	start := time.Date(2026, 12, 8, 8, 0, 0, 0, time.UTC) // before the 09:00 run: no catch-up yet
	h := newHarness(t, startAt(start), withConfig(func(c *config.Config) {
		c.Reminders.DM = false
		c.Deadlines = []config.Deadline{{Name: "Apply", Date: config.Date{Year: 2026, Month: time.December, Day: 15}}}
	}))
	h.postPoll(channel)
	h.stop()

	calls := h.emu.Calls("chat.postMessage")
	h.emu.Fail("chat.postMessage", slackemu.Failure{Delay: time.Minute}) // answered a minute late, or when the bot hangs up
	h.clock.Set(start.Add(2 * time.Hour))                                // 10:00: the bot catches up today's reminder on start
	h.start()
	h.eventually("the reminder's chat.postMessage under way", func() bool { return h.emu.Calls("chat.postMessage") > calls })
	h.cancel()
	// 9 s is the bound check (7 s promised, plus slack for a loaded machine), not a speed claim.
	select {
	case err := <-h.done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(9 * time.Second):
		t.Fatalf("Run did not return within 9 s of cancel while chat.postMessage hung\nlogs:\n%s", h.logs)
	}
	h.cancel = nil

	// The emulator carries out a request whose client hung up, as Slack may: the post exists but the
	// bot never learned its ts.
	h.eventually("the abandoned post carried out", func() bool { return len(h.reminders()) == 1 })
	h.start()
	h.eventually("the restart's catch-up to record the reminder as posted", func() bool {
		r, err := h.db.Reminders(context.Background(), "2026-12-08")
		return err == nil && len(r) == 1 && r[0].State == internbot.ReminderPosted
	})
	h.stop()
	if got := len(h.reminders()); got != 1 {
		t.Errorf("%d reminders in the channel after the restart, want exactly 1", got)
	}
}

// TestNetworkDownAtStart: Slack cannot be reached when the bot starts (connection refused, as with
// the network down). The bot waits and tries again with backoff, saying so in the log each time,
// and connects once the network is back, instead of giving up after a few seconds.
func TestNetworkDownAtStart(t *testing.T) {
	const refusals = 8
	var refused atomic.Int32
	dialer := &net.Dialer{}
	transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if refused.Load() < refusals {
			refused.Add(1)
			return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		return dialer.DialContext(ctx, network, addr)
	}}
	h := newHarness(t, func(h *harness) { h.httpClient = &http.Client{Transport: transport} }) // waits for the connection
	defer transport.CloseIdleConnections()
	if got := refused.Load(); got != refusals {
		t.Errorf("%d connections refused before the bot connected, want %d", got, refusals)
	}
	if got := strings.Count(h.logs.String(), "cannot reach slack"); got < refusals-1 {
		t.Errorf("%d log lines say slack cannot be reached, want one per failed attempt\nlogs:\n%s", got, h.logs)
	}
	if !strings.Contains(h.logs.String(), "retry_in=") {
		t.Errorf("the log does not say when the next attempt is\nlogs:\n%s", h.logs)
	}
}

// TestRunAgain: a Bot whose Run has returned can Run again and serves as it did the first time:
// reactions are stored and shown on the poll message, commands answer, and Run returns cleanly.
func TestRunAgain(t *testing.T) {
	h := newHarness(t)
	p := h.postPoll(channel)
	h.react(member, p, yes)
	h.stop()
	if h.bot.Connected() {
		t.Error("Connected() after Run returned")
	}

	h.run() // the same Bot
	h.react(other, p, no)
	if got := h.answer(p, other); got != "no" {
		t.Errorf("answer in the second run = %q, want no", got)
	}
	h.eventually("counts updated in the second run", func() bool {
		m, _ := h.emu.Message(channel, p.TS)
		return strings.Contains(m.Text, "*yes* 1 · *maybe* 0 · *no* 1")
	})
	if r := h.slash(member, channel, "me"); !strings.Contains(r.Text, "yes") {
		t.Errorf("/internship me in the second run = %q", r.Text)
	}
	h.stop()
	if h.bot.Connected() {
		t.Error("Connected() after the second Run returned")
	}
}

// TestRunWhileRunning: a second Run of a Bot that is running is refused at once, and the first run
// goes on.
func TestRunWhileRunning(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // were it not refused, it would return nil at once, having never started
	if err := h.bot.Run(ctx); !errors.Is(err, bot.ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
	if !h.bot.Connected() {
		t.Error("the first run is no longer connected")
	}
	p := h.postPoll(channel)
	h.react(member, p, yes)
	if got := h.answer(p, member); got != "yes" {
		t.Errorf("answer = %q, want yes", got)
	}
}

// reconcileFailingStore refuses every reconcile's write, as a full disk would.
type reconcileFailingStore struct{ *storage.DB }

func (s reconcileFailingStore) ReconcilePoll(context.Context, int64, map[string][]string, time.Time) (int, error) {
	return 0, errors.New("disk I/O error: database or disk is full")
}

// TestErrorExitIsBounded: the drain bound holds when Run ends on its own (Slack refuses the app token
// for good), not only on a signal: a reconcile retrying a storage failure must not keep Run from
// returning.
func TestErrorExitIsBounded(t *testing.T) {
	h := newHarness(t, withBotOptions(func(o *bot.Options) {
		o.Store = reconcileFailingStore{o.Store.(*storage.DB)}
	}))
	h.postPoll(channel)
	h.emu.Disconnect("refresh_requested") // the reconnect reconciles the poll, and storage refuses it
	h.eventually("a reconcile retrying a storage failure", func() bool {
		return strings.Contains(h.logs.String(), "reconcile: storage failed")
	})
	// The app token loses connections:write; the bot token still works, so the reconcile goes on.
	h.emu.Fail("apps.connections.open", slackemu.Failure{Error: "missing_scope", Times: 1000})
	h.emu.Disconnect("refresh_requested")
	// 9 s is the bound check (the drain's 6 s, plus slack for a loaded machine), not a speed claim.
	select {
	case err := <-h.done:
		if !errors.Is(err, bot.ErrSocketRefused) {
			t.Fatalf("Run = %v, want an error wrapping ErrSocketRefused", err)
		}
	case <-time.After(9 * time.Second):
		t.Fatalf("Run still running 9 s after Slack refused the app token\nlogs:\n%s", h.logs)
	}
	h.cancel()
	h.cancel = nil
}
