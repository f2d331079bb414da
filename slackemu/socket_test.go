package slackemu_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/internbot/internbot/slackemu"
)

func TestSocketMode_Hello(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	ctx := testCtx(t)
	a := startApp(t, emu, nil)

	a.next(t, ctx, socketmode.EventTypeConnected)
	hello := a.next(t, ctx, socketmode.EventTypeHello)
	if hello.Request.NumConnections != 1 || hello.Request.ConnectionInfo.AppID != emu.AppID() {
		t.Errorf("hello = %+v", hello.Request)
	}
	if hello.Request.DebugInfo.Host == "" {
		t.Error("hello has no debug_info.host")
	}
	if err := emu.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if !emu.Connected() || emu.Connections() != 1 {
		t.Errorf("Connected=%v Connections=%d", emu.Connected(), emu.Connections())
	}
	if emu.Calls("apps.connections.open") != 1 {
		t.Errorf("apps.connections.open calls = %d", emu.Calls("apps.connections.open"))
	}
}

func TestSocketMode_EventsAPIAck(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	ctx := testCtx(t)
	a := startApp(t, emu, func(evt socketmode.Event) any {
		return map[string]string{"seen": "yes"}
	})
	if err := emu.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	env := emu.ReactionEvent(userAlice, chanGeneral, "1700000000.000100", "thumbsup", true)
	env.RetryAttempt, env.RetryReason = 1, "timeout"
	p, err := emu.Send(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ack.EnvelopeID != p.ID() || string(ack.Payload) != `{"seen":"yes"}` {
		t.Errorf("ack = %+v payload %s", ack, ack.Payload)
	}

	evt := a.next(t, ctx, socketmode.EventTypeEventsAPI)
	if evt.Request.RetryAttempt != 1 || evt.Request.RetryReason != "timeout" {
		t.Errorf("retry fields = %d %q", evt.Request.RetryAttempt, evt.Request.RetryReason)
	}
	outer, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		t.Fatalf("data is %T", evt.Data)
	}
	cb := outer.Data.(*slackevents.EventsAPICallbackEvent)
	if outer.Type != slackevents.CallbackEvent || outer.TeamID != emu.TeamID() || outer.APIAppID != emu.AppID() ||
		!strings.HasPrefix(cb.EventID, "Ev") || cb.EventTime == 0 || len(cb.Authorizations) != 1 {
		t.Errorf("outer = %+v cb = %+v", outer, cb)
	}
	var ra *slackevents.ReactionAddedEvent
	switch v := outer.InnerEvent.Data.(type) {
	case *slackevents.ReactionAddedEvent:
		ra = v
	case slackevents.ReactionAddedEvent:
		ra = &v
	default:
		t.Fatalf("inner is %T", v)
	}
	if ra.User != userAlice || ra.Reaction != "thumbsup" || ra.Item.Channel != chanGeneral ||
		ra.Item.Timestamp != "1700000000.000100" || ra.Item.Type != "message" || ra.EventTimestamp == "" {
		t.Errorf("reaction_added = %+v", ra)
	}
	if got := emu.Acks(); len(got) != 1 || got[0].EnvelopeID != p.ID() {
		t.Errorf("Acks = %+v", got)
	}
}

func TestSocketMode_SlashCommand(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	ctx := testCtx(t)
	cmds := make(chan slack.SlashCommand, 1)
	a := startApp(t, emu, func(evt socketmode.Event) any {
		if cmd, ok := evt.Data.(slack.SlashCommand); ok {
			cmds <- cmd
			return map[string]string{"text": "working on it"}
		}
		return nil
	})
	if err := emu.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	ack, err := emu.SlashCommand(ctx, userAlice, chanGeneral, "/internbot", "pay")
	if err != nil {
		t.Fatal(err)
	}
	if string(ack.Payload) != `{"text":"working on it"}` {
		t.Errorf("ack payload %s", ack.Payload)
	}
	cmd := <-cmds
	want := slack.SlashCommand{
		TeamID: emu.TeamID(), TeamDomain: "emulator", ChannelID: chanGeneral, ChannelName: "general",
		UserID: userAlice, UserName: "alice", Command: "/internbot", Text: "pay", APIAppID: emu.AppID(),
	}
	got := cmd
	got.Token, got.ResponseURL, got.TriggerID = "", "", ""
	if got != want {
		t.Errorf("slash command\n got %+v\nwant %+v", got, want)
	}
	if cmd.ResponseURL == "" || cmd.TriggerID == "" || cmd.Token == "" {
		t.Errorf("missing response_url/trigger_id/token: %+v", cmd)
	}
	evt := a.next(t, ctx, socketmode.EventTypeSlashCommand)
	if !evt.Request.AcceptsResponsePayload {
		t.Error("accepts_response_payload = false")
	}

	// The ack payload is shown to the user as an ephemeral reply.
	msgs := emu.Messages(chanGeneral)
	if len(msgs) != 1 || msgs[0].Via != "ack" || !msgs[0].Ephemeral || msgs[0].ToUser != userAlice || msgs[0].Text != "working on it" {
		t.Fatalf("messages after ack = %+v", msgs)
	}

	t.Run("ResponseURL", func(t *testing.T) {
		sub, cancel := emu.Subscribe()
		defer cancel()
		_, _, err := a.api.PostMessageContext(ctx, chanGeneral,
			slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeInChannel),
			slack.MsgOptionText("Pay is 50/h", false))
		if err != nil {
			t.Fatal(err)
		}
		m := <-sub
		if m.Via != "response_url" || m.Ephemeral || m.ResponseType != "in_channel" || m.Text != "Pay is 50/h" || m.BotID != emu.BotID() {
			t.Errorf("response_url message = %+v", m)
		}
		// replace_original edits the reply the URL made.
		_, _, err = a.api.PostMessageContext(ctx, chanGeneral,
			slack.MsgOptionReplaceOriginal(cmd.ResponseURL), slack.MsgOptionText("Pay is 60/h", false))
		if err != nil {
			t.Fatal(err)
		}
		m2 := <-sub
		if m2.TS != m.TS || m2.Text != "Pay is 60/h" || m2.Edits != 1 {
			t.Errorf("replaced = %+v (orig ts %s)", m2, m.TS)
		}
		if emu.Calls("response_url") != 2 {
			t.Errorf("response_url calls = %d", emu.Calls("response_url"))
		}
	})
}

func TestSocketMode_Reconnect(t *testing.T) {
	emu := MustStart(t, slackemu.Options{DisconnectGrace: 50 * time.Millisecond})
	ctx := testCtx(t)
	a := startApp(t, emu, nil)
	if err := emu.WaitConnections(ctx, 1); err != nil {
		t.Fatal(err)
	}

	t.Run("DropSockets", func(t *testing.T) {
		emu.DropSockets()
		if err := emu.WaitConnections(ctx, 2); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Disconnect", func(t *testing.T) {
		emu.Disconnect("refresh_requested")
		if err := emu.WaitConnections(ctx, 3); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("PingsStop", func(t *testing.T) {
		// A separate app with a short maxPingInterval notices missing pings.
		emu2 := MustStart(t, slackemu.Options{PingInterval: 50 * time.Millisecond})
		startApp(t, emu2, nil, socketmode.OptionPingInterval(300*time.Millisecond))
		if err := emu2.WaitConnections(ctx, 1); err != nil {
			t.Fatal(err)
		}
		emu2.SetPings(false)
		if err := emu2.WaitConnections(ctx, 2); err != nil {
			t.Fatal(err)
		}
		emu2.SetPings(true)
	})
	// Still usable after reconnects.
	p, err := emu.Send(ctx, emu.ReactionEvent(userBob, chanGeneral, "1.000001", "x", true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	_ = a
}

func TestSocketMode_RevokeTokens(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	ctx := testCtx(t)
	a := startApp(t, emu, nil)
	if err := emu.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	emu.RevokeTokens()
	select {
	case err := <-a.runErr:
		if err == nil || err.Error() != "invalid_auth" {
			t.Errorf("RunContext err = %v, want invalid_auth", err)
		}
	case <-ctx.Done():
		t.Fatal("RunContext did not return after RevokeTokens")
	}
	if _, err := a.api.AuthTestContext(ctx); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("auth.test after revoke: %v", err)
	}
}

func TestSend_ErrNotConnected(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	_, err := emu.Send(context.Background(), slackemu.Envelope{Payload: map[string]any{}})
	if !errors.Is(err, slackemu.ErrNotConnected) {
		t.Errorf("err = %v", err)
	}
}

func TestSend_Concurrent(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	ctx := testCtx(t)
	startApp(t, emu, nil)
	if err := emu.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	const workers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				p, err := emu.Send(ctx, emu.ReactionEvent(userAlice, chanGeneral, "1.000001", "x", true))
				if err == nil {
					_, err = p.Wait(ctx)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(emu.Acks()); n != workers*each {
		t.Errorf("acks = %d", n)
	}
}

func TestClose_FailsPending(t *testing.T) {
	emu := slackemu.New(slackemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	conn := dialRaw(t, emu)
	p, err := emu.Send(ctx, slackemu.Envelope{Type: "interactive", Payload: map[string]any{"type": "block_actions"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = conn
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); !errors.Is(err, slackemu.ErrClosed) {
		t.Errorf("Wait after Close = %v", err)
	}
}

// dialRaw opens a socket with gorilla directly and consumes hello.
func dialRaw(tb testing.TB, emu *slackemu.Server) *websocket.Conn {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, emu.APIURL()+"apps.connections.open", nil)
	req.Header.Set("Authorization", "Bearer "+emu.AppToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var open struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&open); err != nil || !open.OK {
		tb.Fatalf("apps.connections.open: %v %+v", err, open)
	}
	conn, _, err := websocket.DefaultDialer.Dial(open.URL, http.Header{"Origin": {"https://api.slack.com"}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	var hello map[string]any
	if err := conn.ReadJSON(&hello); err != nil || hello["type"] != "hello" {
		tb.Fatalf("hello: %v %v", err, hello)
	}
	// Tickets are single use.
	if _, _, err := websocket.DefaultDialer.Dial(open.URL, nil); err == nil {
		tb.Error("ticket reused")
	}
	return conn
}

// BenchmarkSendAck pushes envelopes through a raw client that acks each one,
// keeping 64 outstanding.
func BenchmarkSendAck(b *testing.B) {
	emu := MustStart(b, slackemu.Options{})
	conn := dialRaw(b, emu)
	go func() {
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var e struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal(data, &e) != nil {
				continue
			}
			if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"envelope_id":"`+e.EnvelopeID+`"}`)); err != nil {
				return
			}
		}
	}()
	ctx := context.Background()
	payload := emu.ReactionEvent(userAlice, chanGeneral, "1.000001", "x", true).Payload
	preps := make([]slackemu.Prepared, b.N)
	for i := range preps {
		p, err := emu.Prepare(slackemu.Envelope{Type: "events_api", Payload: payload})
		if err != nil {
			b.Fatal(err)
		}
		preps[i] = p
	}
	window := make(chan *slackemu.Pending, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range window {
			if _, err := p.Wait(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	b.ResetTimer()
	for i := range b.N {
		p, err := emu.SendPrepared(ctx, preps[i])
		if err != nil {
			b.Fatal(err)
		}
		window <- p
	}
	close(window)
	<-done
}

// BenchmarkSocketmodeAck drives slack-go's socketmode.Client, the bot's own
// client, with 64 envelopes outstanding.
func BenchmarkSocketmodeAck(b *testing.B) {
	emu := MustStart(b, slackemu.Options{})
	ctx := testCtx(b)
	startApp(b, emu, nil)
	if err := emu.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	payload := emu.ReactionEvent(userAlice, chanGeneral, "1.000001", "x", true).Payload
	preps := make([]slackemu.Prepared, b.N)
	for i := range preps {
		preps[i], _ = emu.Prepare(slackemu.Envelope{Type: "events_api", Payload: payload})
	}
	window := make(chan *slackemu.Pending, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range window {
			if _, err := p.Wait(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	b.ResetTimer()
	for i := range b.N {
		p, err := emu.SendPrepared(ctx, preps[i])
		if err != nil {
			b.Fatal(err)
		}
		window <- p
	}
	close(window)
	<-done
}

func TestPrepare_RawAndEncodedAgree(t *testing.T) {
	emu := slackemu.New(slackemu.Options{})
	for _, typ := range []string{"events_api", "slash_commands", "interactive"} {
		t.Run(typ, func(t *testing.T) {
			e := slackemu.Envelope{EnvelopeID: "id-1", Type: typ, RetryAttempt: 2, RetryReason: `odd "reason"`, AcceptsResponsePayload: true}
			e.Payload = json.RawMessage(`{"a":[1,2],"b":"<x>"}`)
			raw, err := emu.Prepare(e)
			if err != nil {
				t.Fatal(err)
			}
			e.Payload = map[string]any{"a": []int{1, 2}, "b": "<x>"}
			enc, err := emu.Prepare(e)
			if err != nil {
				t.Fatal(err)
			}
			var x, y any
			if err := json.Unmarshal(raw.Bytes(), &x); err != nil {
				t.Fatalf("raw path: %v: %s", err, raw.Bytes())
			}
			_ = json.Unmarshal(enc.Bytes(), &y)
			if !equalJSON(t, x, y) {
				t.Errorf("raw %s\nenc %s", raw.Bytes(), enc.Bytes())
			}
		})
	}
}
