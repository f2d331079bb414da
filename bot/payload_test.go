package bot_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/slackemu"
)

// TestMalformedPayloads sends, over Socket Mode, envelopes Slack should never send but a bot must
// survive: missing fields, wrong types, unknown types, huge texts, reactions to things that are not
// messages. Each must be acked (or, if it is not even JSON, dropped by slack-go), none may record an
// answer or panic the bot, and the bot must still answer afterwards.
func TestMalformedPayloads(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, withBotOptions(func(o *bot.Options) { o.Metrics = bot.NewMetrics(reg) }))
	p := h.postPoll(channel)

	callback := func(event string) string {
		return `{"token":"x","team_id":"T0EMU","api_app_id":"A0EMU","type":"event_callback","event_id":"Ev0BAD` +
			fmt.Sprint(time.Now().UnixNano()) + `","event_time":1764579700,"event":` + event + `}`
	}
	item := fmt.Sprintf(`{"type":"message","channel":%q,"ts":%q}`, p.Channel, p.TS)
	reaction := func(fields string) string {
		return callback(`{"type":"reaction_added",` + fields + `}`)
	}
	for _, tc := range []struct {
		name    string
		typ     string
		payload string
		noAck   bool // not JSON: slack-go drops the frame before the bot sees it
	}{
		{"reaction with no fields", "events_api", reaction(`"x":1`), false},
		{"reaction with no user", "events_api", reaction(`"reaction":"x","item":` + item + `,"event_ts":"1764579700.000100"`), false},
		{"reaction with no item", "events_api", reaction(`"user":"U0MEMBER","reaction":"x","event_ts":"1764579700.000100"`), false},
		{"reaction with null item", "events_api", reaction(`"user":"U0MEMBER","reaction":"x","item":null,"event_ts":"1764579700.000100"`), false},
		{"reaction with no event_ts", "events_api", reaction(`"user":"U0MEMBER","reaction":"x","item":` + item), false},
		{"reaction with a bad event_ts", "events_api", reaction(`"user":"U0MEMBER","reaction":"x","item":` + item + `,"event_ts":"yesterday"`), false},
		{"reaction with a numeric user", "events_api", reaction(`"user":42,"reaction":"x","item":` + item + `,"event_ts":"1764579700.000100"`), false},
		{"reaction whose item is a string", "events_api", reaction(`"user":"U0MEMBER","reaction":"x","item":"message","event_ts":"1764579700.000100"`), false},
		{"reaction to a file", "events_api", reaction(fmt.Sprintf(`"user":"U0MEMBER","reaction":"x","item":{"type":"file","file":"F1","channel":%q,"ts":%q},"event_ts":"1764579700.000100"`, p.Channel, p.TS)), false},
		{"reaction to a file comment", "events_api", reaction(`"user":"U0MEMBER","reaction":"x","item":{"type":"file_comment","file_comment":"Fc1"},"event_ts":"1764579700.000100"`), false},
		{"reaction by the bot itself", "events_api", reaction(`"user":"` + h.emu.BotUserID() + `","reaction":"x","item":` + item + `,"event_ts":"1764579700.000100"`), false},
		{"reaction that is not an option", "events_api", reaction(`"user":"U0MEMBER","reaction":"tada","item":` + item + `,"event_ts":"1764579700.000100"`), false},
		{"unknown event type", "events_api", callback(`{"type":"made_up_event","user":"U0MEMBER"}`), false},
		{"event that is a string", "events_api", callback(`"reaction_added"`), false},
		{"event that is null", "events_api", callback(`null`), false},
		{"huge message event", "events_api", callback(`{"type":"message","channel":"C0INTERN","user":"U0MEMBER","text":"` + strings.Repeat("pay ", 50000) + `","ts":"1764579700.000300"}`), false},
		{"callback with no event", "events_api", `{"type":"event_callback","event_id":"Ev0NOEVENT"}`, false},
		{"url_verification", "events_api", `{"type":"url_verification","challenge":"x","token":"x"}`, false},
		{"app_rate_limited", "events_api", `{"type":"app_rate_limited","minute_rate_limited":1}`, false},
		{"events_api payload that is an array", "events_api", `[1,2]`, false},
		{"events_api payload that is a number", "events_api", `7`, false},
		{"slash command with a numeric text", "slash_commands", `{"command":"/internship","text":7,"user_id":"U0MEMBER"}`, false},
		{"slash command that is an array", "slash_commands", `[]`, false},
		{"interactive block_actions", "interactive", `{"type":"block_actions","user":{"id":"U0MEMBER"},"actions":[{"action_id":"x","value":"y"}]}`, false},
		{"interactive with a bad shape", "interactive", `{"type":"block_actions","user":"U0MEMBER","actions":"x"}`, false},
		{"interactive that is a string", "interactive", `"garbage"`, false},
		{"unknown envelope type", "mystery_type", `{"a":1}`, false},
		{"payload that is not JSON", "events_api", `{"type":`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			pd, err := h.emu.Send(ctx, slackemu.Envelope{Type: tc.typ, Payload: json.RawMessage(tc.payload)})
			if err != nil {
				t.Fatal(err)
			}
			if tc.noAck {
				short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
				if _, err := pd.Wait(short); err == nil {
					t.Errorf("acked a frame that is not JSON")
				}
				return
			}
			if _, err := pd.Wait(ctx); err != nil {
				t.Fatalf("not acked: %v\nlogs:\n%s", err, h.logs)
			}
		})
	}

	// A slash command with no text and no command is still answered (with help).
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	pd, err := h.emu.Send(ctx, slackemu.Envelope{Type: "slash_commands", AcceptsResponsePayload: true, Payload: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := pd.Wait(ctx)
	if err != nil {
		t.Fatalf("empty slash command not acked: %v", err)
	}
	var help replyMsg
	if err := json.Unmarshal(ack.Payload, &help); err != nil || !strings.Contains(help.Text, "help") {
		t.Errorf("empty slash command: reply %s (%v), want the help text", ack.Payload, err)
	}

	answers, err := h.db.Answers(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != 0 {
		t.Errorf("malformed events recorded answers: %+v", answers)
	}
	if n := bot.CounterSum(t, reg, "internbot_panics_recovered_total"); n != 0 {
		t.Errorf("%v panics recovered\nlogs:\n%s", n, h.logs)
	}
	if strings.Contains(h.logs.String(), "recovered from a panic") {
		t.Errorf("a handler panicked:\n%s", h.logs)
	}
	if r := h.slash(member, channel, "pay"); !strings.Contains(r.all(), "$12100 monthly") {
		t.Errorf("after the malformed payloads, /internship pay = %q", r.Text)
	}
	// And a real answer still counts.
	h.react(member, p, yes)
	if got := h.answer(p, member); got != "yes" {
		t.Errorf("answer after the malformed payloads = %q, want yes", got)
	}
}

// TestDisconnectEnvelope checks that Slack's disconnect request makes the bot reconnect and carry on.
func TestDisconnectEnvelope(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	before := h.emu.Connections()
	if _, err := h.emu.Send(ctx, slackemu.Envelope{Type: "disconnect", Payload: "refresh_requested"}); err != nil {
		t.Fatal(err)
	}
	h.eventually("a new connection", func() bool { return h.emu.Connections() > before })
	if r := h.slash(member, channel, "pay"); !strings.Contains(r.all(), "$12100 monthly") {
		t.Errorf("after disconnect, /internship pay = %q", r.Text)
	}
}
