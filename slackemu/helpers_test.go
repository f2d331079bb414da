package slackemu_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/internbot/internbot/slackemu"
)

const (
	chanGeneral = "C0GENERAL"
	chanRandom  = "C0RANDOM"
	userAlice   = "U0ALICE"
	userBob     = "U0BOB"
)

// MustStart returns a started emulator with two users and two channels
// (the bot is in #general only), closed when the test ends.
func MustStart(tb testing.TB, opts slackemu.Options) *slackemu.Server {
	tb.Helper()
	emu := slackemu.New(opts)
	if err := emu.Start("127.0.0.1:0"); err != nil {
		tb.Fatalf("start: %v", err)
	}
	tb.Cleanup(func() {
		if err := emu.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	emu.AddUser(slackemu.User{ID: userAlice, Name: "alice", RealName: "Alice A", TZ: "Europe/Paris", IsAdmin: true})
	emu.AddUser(slackemu.User{ID: userBob, Name: "bob", RealName: "Bob B", TZ: "America/New_York"})
	emu.AddChannel(slackemu.Channel{ID: chanGeneral, Name: "general", Members: []string{emu.BotUserID(), userAlice, userBob}})
	emu.AddChannel(slackemu.Channel{ID: chanRandom, Name: "random", Members: []string{userAlice}})
	return emu
}

func newAPI(emu *slackemu.Server, token string) *slack.Client {
	return slack.New(token,
		slack.OptionAPIURL(emu.APIURL()),
		slack.OptionAppLevelToken(emu.AppToken()),
		slack.OptionLog(log.New(io.Discard, "", 0)))
}

func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// app is a minimal Socket Mode app on slack-go: it acks every request with
// whatever onRequest returns and records everything it sees.
type app struct {
	api    *slack.Client
	sm     *socketmode.Client
	events chan socketmode.Event
	runErr chan error
	cancel context.CancelFunc
}

type ackFunc func(evt socketmode.Event) any

func startApp(tb testing.TB, emu *slackemu.Server, onRequest ackFunc, opts ...socketmode.Option) *app {
	tb.Helper()
	api := newAPI(emu, emu.BotToken())
	opts = append([]socketmode.Option{socketmode.OptionLog(log.New(io.Discard, "", 0))}, opts...)
	sm := socketmode.New(api, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	a := &app{api: api, sm: sm, events: make(chan socketmode.Event, 1024), runErr: make(chan error, 1), cancel: cancel}
	var wg sync.WaitGroup
	wg.Go(func() { a.runErr <- sm.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-sm.Events:
				if evt.Request != nil && evt.Request.EnvelopeID != "" {
					var payload any
					if onRequest != nil {
						payload = onRequest(evt)
					}
					_ = sm.AckCtx(ctx, evt.Request.EnvelopeID, payload)
				}
				select {
				case a.events <- evt:
				default:
				}
			}
		}
	})
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return a
}

// next returns the next event of type typ, skipping others.
func (a *app) next(tb testing.TB, ctx context.Context, typ socketmode.EventType) socketmode.Event {
	tb.Helper()
	for {
		select {
		case evt := <-a.events:
			if evt.Type == typ {
				return evt
			}
		case <-ctx.Done():
			tb.Fatalf("waiting for %s: %v", typ, ctx.Err())
		}
	}
}

func mustJSON(tb testing.TB, v any) json.RawMessage {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
