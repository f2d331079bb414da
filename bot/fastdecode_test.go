package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/internbot/internbot/slackemu"
)

// slackGoReaction is slack-go's path from a frame to the fields the bot uses, step for step:
// gorilla's ReadJSON into a json.RawMessage (socketmode receiveMessagesInto), socketmode.parseEvent
// (unexported, so its events_api branch is repeated here: Request, then slackevents.ParseEvent with
// OptionNoVerifyToken), then onEventsAPI's type switches.
func slackGoReaction(frame []byte) (fastReaction, bool) {
	var raw json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(frame)).Decode(&raw); err != nil {
		return fastReaction{}, false
	}
	req := &socketmode.Request{}
	if err := json.Unmarshal(raw, req); err != nil || req.Type != socketmode.RequestTypeEventsAPI {
		return fastReaction{}, false
	}
	ev, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken())
	if err != nil {
		return fastReaction{}, false
	}
	r := fastReaction{envelopeID: req.EnvelopeID, retryAttempt: req.RetryAttempt}
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		r.eventID = cb.EventID
	}
	switch inner := ev.InnerEvent.Data.(type) {
	case *slackevents.ReactionAddedEvent:
		r.user, r.reaction, r.itemType, r.channel, r.ts, r.eventTS, r.added =
			inner.User, inner.Reaction, inner.Item.Type, inner.Item.Channel, inner.Item.Timestamp, inner.EventTimestamp, true
	case *slackevents.ReactionRemovedEvent:
		r.user, r.reaction, r.itemType, r.channel, r.ts, r.eventTS =
			inner.User, inner.Reaction, inner.Item.Type, inner.Item.Channel, inner.Item.Timestamp, inner.EventTimestamp
	default:
		return fastReaction{}, false
	}
	return r, true
}

// emulatorFrames are reaction envelopes exactly as the emulator puts them on the wire.
func emulatorFrames(tb testing.TB) [][]byte {
	tb.Helper()
	emu := slackemu.New(slackemu.Options{})
	tb.Cleanup(func() { emu.Close() })
	emu.AddUser(slackemu.User{ID: "U0ALICE", Name: "alice"})
	emu.AddChannel(slackemu.Channel{ID: "C0POLL", Name: "poll", Members: []string{"U0ALICE", emu.BotUserID()}})
	ts, err := emu.PostAsUser(emu.BotUserID(), "C0POLL", "the poll")
	if err != nil {
		tb.Fatal(err)
	}
	var frames [][]byte
	for _, e := range []slackemu.Envelope{
		emu.ReactionEvent("U0ALICE", "C0POLL", ts, "white_check_mark", true),
		emu.ReactionEvent("U0ALICE", "C0POLL", ts, "+1::skin-tone-2", false),
		emu.ReactionEvent("U0ALICE", "C0POLL", "1700000000.000100", "x", true), // an unknown message: no item_user
	} {
		p, err := emu.Prepare(e)
		if err != nil {
			tb.Fatal(err)
		}
		frames = append(frames, p.Bytes())
	}
	redelivered := emu.ReactionEvent("U0ALICE", "C0POLL", ts, "thinking_face", true)
	redelivered.RetryAttempt, redelivered.RetryReason = 2, "timeout"
	p, err := emu.Prepare(redelivered)
	if err != nil {
		tb.Fatal(err)
	}
	return append(frames, p.Bytes())
}

// slackDocFrame is the reaction_added example from Slack's event reference
// (docs.slack.dev/reference/events/reaction_added), without its trailing comma, in a Socket Mode envelope.
const slackDocFrame = `{"envelope_id":"dbdd0ef3-1543-4f94-bfb4-133d0e6c1545","payload":{"token":"XXYYZZ","team_id":"T123ABC456",` +
	`"context_team_id":"T123ABC456","context_enterprise_id":null,"api_app_id":"A123ABC456","event":{"type":"reaction_added",` +
	`"user":"U123ABC456","reaction":"thumbsup","item_user":"U222222222","item":{"type":"message","channel":"C123ABC456",` +
	`"ts":"1360782400.498405","channel_type":"channel"},"event_ts":"1360782804.083113"},"type":"event_callback",` +
	`"event_id":"Ev123ABC456","event_time":123456789,"authorizations":[{"enterprise_id":null,"team_id":"T123ABC456",` +
	`"user_id":"U123ABC456","is_bot":false,"is_enterprise_install":false}],"is_ext_shared_channel":false,` +
	`"event_context":"4-eyJldCI6InJlYWN0aW9uX2FkZGVkIn0"},"type":"events_api","accepts_response_payload":false,` +
	`"retry_attempt":0,"retry_reason":""}`

func TestFastDecodeReadsRealEnvelopes(t *testing.T) {
	frames := append(emulatorFrames(t), []byte(slackDocFrame))
	for _, f := range frames {
		got, ok := decodeReactionEnvelope(f)
		if !ok {
			t.Errorf("the fast decoder gave up on a real envelope:\n%s", f)
			continue
		}
		want, ok := slackGoReaction(f)
		if !ok || got != want {
			t.Errorf("fast %+v\nslack-go %+v (ok %v)\nframe %s", got, want, ok, f)
		}
	}
	r, _ := decodeReactionEnvelope(frames[3])
	if r.retryAttempt != 2 || !r.added || r.reaction != "thinking_face" || r.itemType != "message" || r.envelopeID == "" || r.eventID == "" {
		t.Errorf("redelivered envelope read as %+v", r)
	}
	received := time.Unix(1700000000, 0)
	f := r.fact(received)
	if f.req.EnvelopeID != r.envelopeID || f.req.RetryAttempt != 2 || f.req.Type != "events_api" || !f.received.Equal(received) || f.eventTS != r.eventTS || !f.added {
		t.Errorf("fact %+v from %+v", f, r)
	}
}

// fastDecodeEdges are frames a real envelope turns into by one edit: each either decodes the same
// both ways or makes the fast decoder give up. want says which this decoder does; it is there to
// catch a decoder that gives up on everything.
var fastDecodeEdges = []struct {
	name, old, new string
	fast           bool
}{
	{"Escaped", `"reaction":"thumbsup"`, `"reaction":"thu\u006dbs\/up\n"`, true},
	{"Unicode", `"reaction":"thumbsup"`, `"reaction":"日本語_ok"`, true},
	{"EscapedSurrogates", `"reaction":"thumbsup"`, `"reaction":"\ud83d\ude00\ud800x"`, true},
	{"InvalidUTF8", `"reaction":"thumbsup"`, "\"reaction\":\"thumbs\xffup\"", true},
	{"ExtraFields", `"item_user":"U222222222"`, `"item_user":"U222222222","extra":{"a":[1,2.5e-3,true,null,"x"]},"x":-0`, true},
	{"NullString", `"item_user":"U222222222"`, `"item_user":null`, true},
	{"NullItem", `"item":{"type":"message","channel":"C123ABC456","ts":"1360782400.498405","channel_type":"channel"}`, `"item":null`, true},
	{"NullRetry", `"retry_attempt":0`, `"retry_attempt":null`, true},
	{"Whitespace", `"type":"events_api"`, " \"type\" :\t\"events_api\"\r\n", true},
	{"DuplicateKey", `"reaction":"thumbsup"`, `"reaction":"thumbsup","reaction":"x"`, false},
	{"DuplicateUnknownKey", `"channel_type":"channel"`, `"channel_type":"channel","channel_type":1`, true},
	{"CaseVariantKey", `"reaction":"thumbsup"`, `"reaction":"thumbsup","Reaction":"x"`, false},
	{"KelvinKey", `"token":"XXYYZZ"`, `"to\u212aen":"XXYYZZ"`, false},
	{"KelvinKeyRaw", `"token":"XXYYZZ"`, "\"to\u212aen\":\"XXYYZZ\"", false},
	{"EscapedKey", `"reaction":"thumbsup"`, `"reactio\u006e":"thumbsup"`, false},
	{"NumberAsString", `"retry_attempt":0`, `"retry_attempt":"0"`, false},
	{"StringAsNumber", `"event_ts":"1360782804.083113"`, `"event_ts":1360782804.083113`, false},
	{"FloatRetry", `"retry_attempt":0`, `"retry_attempt":1.0`, false},
	{"HugeRetry", `"retry_attempt":0`, `"retry_attempt":99999999999999999999`, false},
	{"EventTimeString", `"event_time":123456789`, `"event_time":"123456789"`, false},
	{"BoolAsString", `"is_ext_shared_channel":false`, `"is_ext_shared_channel":"false"`, false},
	{"AuthorizationBoolAsString", `"is_bot":false`, `"is_bot":"false"`, false},
	{"NullEvent", `"event":{"type":"reaction_added"`, `"event":null,"x":{"type":"reaction_added"`, false},
	{"OtherEvent", `"type":"reaction_added"`, `"type":"message"`, false},
	{"FileItem", `"channel":"C123ABC456"`, `"file":"F123"`, false},
	{"Hello", `"type":"events_api"`, `"type":"hello","num_connections":1`, false},
	{"TrailingGarbage", `"retry_reason":""}`, `"retry_reason":""} x`, false},
	{"Truncated", `"retry_reason":""}`, `"retry_reason":""`, false},
	{"DataField", `"token":"XXYYZZ"`, `"token":"XXYYZZ","Data":1`, false},
}

func TestFastDecodeEdges(t *testing.T) {
	for _, tc := range fastDecodeEdges {
		t.Run(tc.name, func(t *testing.T) {
			f := []byte(strings.Replace(slackDocFrame, tc.old, tc.new, 1))
			if bytes.Equal(f, []byte(slackDocFrame)) {
				t.Fatalf("%q is not in the frame", tc.old)
			}
			checkFastDecode(t, f)
			if _, ok := decodeReactionEnvelope(f); ok != tc.fast {
				t.Errorf("fast decoder ok = %v, want %v for %s", ok, tc.fast, f)
			}
		})
	}
}

// checkFastDecode fails if the fast decoder reads f and slack-go does not read it the same.
func checkFastDecode(t *testing.T, f []byte) {
	t.Helper()
	got, ok := decodeReactionEnvelope(f)
	if !ok {
		return
	}
	want, ok := slackGoReaction(f)
	if !ok {
		t.Fatalf("the fast decoder read %+v where slack-go reads no reaction\nframe %q", got, f)
	}
	if got != want {
		t.Fatalf("fast %+v\nslack-go %+v\nframe %q", got, want, f)
	}
}

func FuzzFastDecodeAgrees(f *testing.F) {
	for _, fr := range emulatorFrames(f) {
		f.Add(fr)
	}
	f.Add([]byte(slackDocFrame))
	for _, tc := range fastDecodeEdges {
		f.Add([]byte(strings.Replace(slackDocFrame, tc.old, tc.new, 1)))
	}
	f.Fuzz(checkFastDecode)
}

func BenchmarkDecodeReaction(b *testing.B) {
	frame := emulatorFrames(b)[0]
	b.Run("Fast", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			if _, ok := decodeReactionEnvelope(frame); !ok {
				b.Fatal("not decoded")
			}
		}
	})
	b.Run("SlackGo", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			if _, ok := slackGoReaction(frame); !ok {
				b.Fatal("not decoded")
			}
		}
	})
}

// TestReactionFrameAllocs: a reaction envelope goes from the frame to the batcher's queue through the
// single-pass decoder, not slack-go's six decodes (about 75 allocations).
func TestReactionFrameAllocs(t *testing.T) {
	b, _, _ := fuzzBot(t)
	frame := []byte(`{"envelope_id":"e1","payload":{"token":"x","team_id":"T1","api_app_id":"A1","event":{"type":"reaction_added","user":"` +
		fzMember + `","reaction":"white_check_mark","item_user":"` + fzBotUser + `","item":{"type":"message","channel":"` + fzChannel +
		`","ts":"` + fzPollTS + `"},"event_ts":"1764579600.000100"},"type":"event_callback","event_id":"Ev1","event_time":1764579600},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""}`)
	if _, ok := decodeReactionEnvelope(frame); !ok {
		t.Fatal("the fast decoder refused the frame")
	}
	const most = 8
	got := testing.AllocsPerRun(100, func() {
		b.onFrame(context.Background(), frame, time.Now())
		if len(b.reactions) != 1 {
			t.Fatalf("%d reactions queued, want 1", len(b.reactions))
		}
		<-b.reactions
	})
	if got > most {
		t.Errorf("a reaction frame costs %.0f allocations on the event loop, want at most %d", got, most)
	}
}
