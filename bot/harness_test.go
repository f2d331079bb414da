package bot_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

// The emulated workspace every end-to-end test uses.
const (
	admin     = "U0ADMIN"
	member    = "U0MEMBER"
	other     = "U0OTHER"
	channel   = "C0INTERN"
	noBotChan = "C0NOBOT"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is the real bot on a real SQLite file, connected over Socket Mode to the emulator.
type harness struct {
	t      testing.TB
	emu    *slackemu.Server
	db     *storage.DB
	cfg    *config.Config
	clock  *clock
	opts   bot.Options
	bot    *bot.Bot
	cancel context.CancelFunc
	done   chan error
	logs   *syncBuffer
	// httpClient, if set, carries the bot's Web API calls (to make the network fail).
	httpClient *http.Client
}

type harnessOption func(*harness)

func withConfig(f func(*config.Config)) harnessOption { return func(h *harness) { f(h.cfg) } }
func withBotOptions(f func(*bot.Options)) harnessOption {
	return func(h *harness) { f(&h.opts) }
}

// newHarness starts the emulator and the bot and waits until the bot is connected.
func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	h := &harness{t: t, cfg: config.Default(), clock: &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}}
	h.cfg.Admins = []string{admin}
	h.cfg.Channel = channel
	h.emu = slackemu.New(slackemu.Options{Now: h.clock.Now, PingInterval: time.Second})
	if err := h.emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.emu.Close() })
	h.emu.AddUser(slackemu.User{ID: admin, Name: "ada"})
	h.emu.AddUser(slackemu.User{ID: member, Name: "mo"})
	h.emu.AddUser(slackemu.User{ID: other, Name: "oz"})
	h.emu.AddUser(slackemu.User{ID: h.emu.BotUserID(), Name: "internbot", IsBot: true})
	h.emu.AddChannel(slackemu.Channel{ID: channel, Name: "internship", Members: []string{admin, member, other, h.emu.BotUserID()}})
	h.emu.AddChannel(slackemu.Channel{ID: noBotChan, Name: "random", Members: []string{admin, member}})

	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "internbot.db"), storage.WithNow(h.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	h.opts = bot.Options{
		Config:         h.cfg,
		Store:          db,
		Logger:         slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:            h.clock.Now,
		UpdateInterval: 50 * time.Millisecond,
		ShutdownGrace:  20 * time.Millisecond,
		Sleep:          func(ctx context.Context, d time.Duration) error { return sleepShort(ctx, d) },
	}
	for _, o := range opts {
		o(h)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

// sleepShort stands in for waiting out a Retry-After: the tests keep the order of events, not the wall time.
func sleepShort(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(min(d, 10*time.Millisecond))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *harness) client(extra ...slack.Option) *slack.Client {
	opts := []slack.Option{slack.OptionAPIURL(h.emu.APIURL()), slack.OptionAppLevelToken(h.emu.AppToken())}
	if h.httpClient != nil {
		opts = append(opts, slack.OptionHTTPClient(h.httpClient))
	}
	return slack.New(h.emu.BotToken(), append(opts, extra...)...)
}

func (h *harness) start() {
	h.t.Helper()
	opts := h.opts
	opts.SlackClock = bot.NewSlackClock() // a restart starts with no reading, as a new process does
	// The bot reads Slack's clock from its Web API responses, as cmd/internbot wires it.
	opts.Client = h.client(slack.OptionHTTPClient(opts.SlackClock.HTTPClient(h.httpClient)))
	b, err := bot.New(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.bot = b
	h.run()
}

// run calls h.bot.Run on a goroutine and waits until the bot is connected.
func (h *harness) run() {
	h.t.Helper()
	b := h.bot
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- b.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := h.emu.WaitConnected(wctx); err != nil {
		h.t.Fatalf("bot did not connect: %v\nlogs:\n%s", err, h.logs)
	}
	h.eventually("bot ready", b.Connected)
}

// stop shuts the bot down the way SIGTERM does and checks it returns cleanly.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("bot.Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Errorf("bot did not stop within 10s")
	}
	h.cancel = nil
}

func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.start()
}

type replyMsg struct {
	ResponseType string          `json:"response_type"`
	Text         string          `json:"text"`
	Blocks       json.RawMessage `json:"blocks"`
}

// all is the reply's fallback text plus every block's text, for assertions.
func (r replyMsg) all() string {
	return r.Text + "\n" + string(r.Blocks)
}

// slash runs /internship TEXT as user in ch and returns the reply from the ack, failing the test if
// the ack took longer than Slack's 3 seconds.
func (h *harness) slash(user, ch, text string) replyMsg {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	ack, err := h.emu.SlashCommand(ctx, user, ch, "/internship", text)
	if err != nil {
		h.t.Fatalf("/internship %.40q: %v", text, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		h.t.Fatalf("/internship %.40q acked after %v", text, d)
	}
	var r replyMsg
	if len(ack.Payload) > 0 && string(ack.Payload) != "null" {
		if err := json.Unmarshal(ack.Payload, &r); err != nil {
			h.t.Fatalf("ack payload: %v: %s", err, ack.Payload)
		}
	}
	return r
}

// eventually polls cond until it holds or 5 s pass. It waits for the bot's asynchronous work (a
// chat.update, a reconnect), never for a schedule.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s\nlogs:\n%s", what, h.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

func slackMsgText(s string) slack.MsgOption { return slack.MsgOptionText(s, false) }

// send delivers one envelope and waits for its ack.
func send(t testing.TB, emu *slackemu.Server, env slackemu.Envelope) slackemu.Ack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	p, err := emu.Send(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := p.Wait(ctx)
	if err != nil {
		t.Fatalf("no ack: %v", err)
	}
	return ack
}

// setItemType rewrites an events_api envelope's event.item.type.
func setItemType(t testing.TB, env *slackemu.Envelope, typ string) {
	t.Helper()
	js, err := json.Marshal(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	m["event"].(map[string]any)["item"].(map[string]any)["type"] = typ
	env.Payload = m
}
