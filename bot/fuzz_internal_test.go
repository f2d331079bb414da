package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
)

// The fuzz targets here drive the bot's own handlers in-process, the way the event loop does, with
// an in-memory store and no network: a fuzz run does tens of thousands of executions a second, where
// a bot connected to the emulator would do a few hundred. bot/payload_test.go sends the same kinds of
// payloads through the emulator end to end.

const (
	fzAdmin   = "U0ADMIN"
	fzMember  = "U0MEMBER"
	fzChannel = "C0INTERN"
	fzPollTS  = "1764579600.000100"
	fzBotUser = "U0BOT"
)

// fakeStore is an in-memory Store with one open poll and no answers. Methods the bot must not call
// from the paths fuzzed here panic (see notFuzzed).
type fakeStore struct {
	mu        sync.Mutex
	poll      internbot.Poll
	deadlines map[string]internbot.Deadline
	added     []internbot.Deadline
}

func newFakeStore(poll internbot.Poll) *fakeStore {
	return &fakeStore{poll: poll, deadlines: make(map[string]internbot.Deadline)}
}

func (s *fakeStore) Polls(context.Context) ([]internbot.Poll, error) {
	return []internbot.Poll{s.poll}, nil
}
func (s *fakeStore) OpenPolls(context.Context) ([]internbot.Poll, error) {
	return []internbot.Poll{s.poll}, nil
}
func (s *fakeStore) NewestEventTS(context.Context) (time.Time, error)         { return time.Time{}, nil }
func (s *fakeStore) ClampFutureFacts(context.Context, time.Time) (int, error) { return 0, nil }
func (s *fakeStore) CurrentPoll(_ context.Context, ch string) (internbot.Poll, error) {
	if ch != s.poll.Channel {
		return internbot.Poll{}, internbot.ErrNotFound
	}
	return s.poll, nil
}
func (s *fakeStore) LatestPoll(context.Context) (internbot.Poll, error) { return s.poll, nil }
func (s *fakeStore) ClosePoll(_ context.Context, id int64) (internbot.Poll, error) {
	p := s.poll
	p.ClosedAt = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	return p, nil
}
func (s *fakeStore) ReopenPoll(context.Context, int64) (internbot.Poll, error) {
	panic("fuzzed paths do not reopen polls")
}
func (s *fakeStore) Counts(context.Context, int64) (map[string]int, error) {
	return map[string]int{"yes": 2, "no": 1}, nil
}
func (s *fakeStore) Answers(context.Context, int64) ([]internbot.Answer, error) { return nil, nil }
func (s *fakeStore) AnswerOf(context.Context, int64, string) (internbot.Answer, error) {
	return internbot.Answer{}, internbot.ErrNotFound
}
func (s *fakeStore) ForgetUser(context.Context, string) error                { return nil }
func (s *fakeStore) SetRemindersOff(context.Context, string, bool) error     { return nil }
func (s *fakeStore) RemindersOff(context.Context, string) (bool, error)      { return false, nil }
func (s *fakeStore) Deadlines(context.Context) ([]internbot.Deadline, error) { return nil, nil }
func (s *fakeStore) AddDeadline(_ context.Context, d internbot.Deadline) (internbot.Deadline, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(d.Name)
	if _, dup := s.deadlines[k]; dup {
		return internbot.Deadline{}, internbot.ErrDuplicate
	}
	s.deadlines[k] = d
	s.added = append(s.added, d)
	return d, nil
}
func (s *fakeStore) RemoveDeadline(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(name)
	if _, ok := s.deadlines[k]; !ok {
		return internbot.ErrNotFound
	}
	delete(s.deadlines, k)
	return nil
}
func (s *fakeStore) ApplyClick(context.Context, internbot.Click) (internbot.ClickResult, error) {
	return internbot.ClickResult{}, internbot.ErrPollClosed
}
func (s *fakeStore) ForgetClick(context.Context, int64, string, string) (string, error) {
	return "", internbot.ErrPollClosed
}
func (s *fakeStore) PollByMessage(context.Context, string, string) (internbot.Poll, error) {
	panic("fakeStore: PollByMessage is not reached by a fuzzed path")
}
func (s *fakeStore) ExportAnswers(context.Context, int64) ([]internbot.Answer, error) {
	panic("fakeStore: ExportAnswers is not reached by a fuzzed path")
}

var _ Store = (*fakeStore)(nil)

// notFuzzed is what a method the fuzzed paths must not reach does: the bot recovers the panic and
// counts it, which the fuzz targets check.
func notFuzzed(method string) { panic("fakeStore: " + method + " is not expected on a fuzzed path") }

func (s *fakeStore) ReplacePoll(context.Context, internbot.Poll) (internbot.Poll, []internbot.Poll, error) {
	notFuzzed("ReplacePoll")
	return internbot.Poll{}, nil, nil
}
func (s *fakeStore) ApplyReactions(context.Context, []internbot.ReactionEvent) ([]internbot.ReactionResult, error) {
	notFuzzed("ApplyReactions")
	return nil, nil
}
func (s *fakeStore) ReconcilePoll(context.Context, int64, map[string][]string, time.Time) (int, error) {
	notFuzzed("ReconcilePoll")
	return 0, nil
}
func (s *fakeStore) ClaimReminder(context.Context, string, string, string, string, time.Duration) (internbot.Reminder, bool, error) {
	notFuzzed("ClaimReminder")
	return internbot.Reminder{}, false, nil
}
func (s *fakeStore) ReleaseReminder(context.Context, string, string, string) error {
	notFuzzed("ReleaseReminder")
	return nil
}
func (s *fakeStore) MarkReminderPosted(context.Context, string, string, string) error {
	notFuzzed("MarkReminderPosted")
	return nil
}
func (s *fakeStore) MarkReminderFailed(context.Context, string, string, string) error {
	notFuzzed("MarkReminderFailed")
	return nil
}
func (s *fakeStore) AddDM(context.Context, string, string, string) (internbot.DM, error) {
	notFuzzed("AddDM")
	return internbot.DM{}, nil
}
func (s *fakeStore) DMChannel(context.Context, string) (string, error) {
	notFuzzed("DMChannel")
	return "", nil
}
func (s *fakeStore) SetDMChannel(context.Context, string, string) error {
	notFuzzed("SetDMChannel")
	return nil
}
func (s *fakeStore) ClaimNudgeDay(context.Context, string, string) (bool, error) {
	notFuzzed("ClaimNudgeDay")
	return false, nil
}
func (s *fakeStore) ClaimLease(context.Context, string, string, time.Duration) (bool, error) {
	notFuzzed("ClaimLease")
	return false, nil
}
func (s *fakeStore) ReleaseLease(context.Context, string, string) error {
	notFuzzed("ReleaseLease")
	return nil
}
func (s *fakeStore) PollByID(context.Context, int64) (internbot.Poll, error) {
	notFuzzed("PollByID")
	return internbot.Poll{}, nil
}
func (s *fakeStore) AddClosing(context.Context, int64, string) (internbot.Closing, error) {
	notFuzzed("AddClosing")
	return internbot.Closing{}, nil
}
func (s *fakeStore) PendingClosings(context.Context) ([]internbot.Closing, error) {
	notFuzzed("PendingClosings")
	return nil, nil
}
func (s *fakeStore) MarkClosingPosted(context.Context, int64, string) error {
	notFuzzed("MarkClosingPosted")
	return nil
}
func (s *fakeStore) MarkDMSending(context.Context, string, string, string) error {
	notFuzzed("MarkDMSending")
	return nil
}
func (s *fakeStore) MarkDMSent(context.Context, string, string, string, string, string) error {
	notFuzzed("MarkDMSent")
	return nil
}
func (s *fakeStore) MarkDMFailed(context.Context, string, string, string, string) error {
	notFuzzed("MarkDMFailed")
	return nil
}
func (s *fakeStore) MarkDMUndeliverable(context.Context, string, string, string, string) error {
	notFuzzed("MarkDMUndeliverable")
	return nil
}

// fuzzBot is a run of a Bot ready for its handlers to be called directly: a known poll, config admins
// (so no users.info), a Web API client whose every call fails at once (nothing fuzzed here should need
// one), and a fresh socketmode.Client per input (see ackClient).
func fuzzBot(tb testing.TB) (*run, *fakeStore, *prometheus.Registry) {
	tb.Helper()
	cfg := config.Default()
	cfg.Admins = []string{fzAdmin}
	cfg.Channel = fzChannel
	poll := internbot.Poll{ID: 1, Channel: fzChannel, TS: fzPollTS, Question: cfg.Poll.Question, CreatedBy: fzAdmin}
	for _, o := range cfg.Poll.Options {
		poll.Options = append(poll.Options, internbot.PollOption{Reaction: o.Reaction, Answer: o.Answer})
	}
	st := newFakeStore(poll)
	reg := prometheus.NewRegistry()
	b, err := New(Options{
		Metrics: NewMetrics(reg),
		Config:  cfg,
		Store:   st,
		Client:  slack.New("xoxb-fuzz", slack.OptionAPIURL("http://127.0.0.1:1/api/"), slack.OptionAppLevelToken("xapp-fuzz")),
		Now:     func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) },
		Sleep:   func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		tb.Fatal(err)
	}
	b.polls.put(poll)
	r := newRun(b)
	r.botUserID = fzBotUser
	ackClient(r)
	return r, st, reg
}

// ackClient gives b a socket whose acks go nowhere, so that they are counted by the metrics.
func ackClient(b *run) { b.sock = &socket{w: discardFrames{}} }

type discardFrames struct{}

func (discardFrames) WriteMessage(int, []byte) error   { return nil }
func (discardFrames) SetWriteDeadline(time.Time) error { return nil }

// metricSum is the sum of every series of the counter name in b's registry.
func metricSum(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// checkReply holds every slash command answer to what Slack accepts and to what the bot promises.
func checkReply(t *testing.T, input string, r *reply) {
	t.Helper()
	if r == nil {
		t.Fatalf("%q: nil reply", input)
	}
	if strings.TrimSpace(r.Text) == "" {
		t.Fatalf("%q: empty reply text", input)
	}
	if _, err := json.Marshal(r); err != nil {
		// runCommand would send neither an ack payload nor a response_url reply.
		t.Fatalf("%q: reply does not encode: %v", input, err)
	}
	if len(r.Blocks) > maxBlocks {
		t.Fatalf("%q: %d blocks, Slack allows %d", input, len(r.Blocks), maxBlocks)
	}
	all := r.Text
	for _, bl := range r.Blocks {
		js, _ := json.Marshal(bl)
		all += "\n" + string(js)
		if s, ok := bl.(*slack.SectionBlock); ok && s.Text != nil && utf8.RuneCountInString(s.Text.Text) > maxSectionText {
			t.Fatalf("%q: section text of %d characters", input, utf8.RuneCountInString(s.Text.Text))
		}
	}
	// The fake store has no answers, so nothing the bot says legitimately mentions a user or
	// broadcasts; any <@, <! or bare @channel came from the input.
	for _, bad := range []string{"<@", "<!", `\u003c@`, `\u003c!`} {
		if strings.Contains(all, bad) {
			t.Fatalf("%q: reply echoes %q unescaped:\n%s", input, bad, all)
		}
	}
	if m := bareMention.FindString(all); m != "" {
		t.Fatalf("%q: reply echoes %s as a mention:\n%s", input, m, all)
	}
	if i := strings.Index(all, "<#"); i >= 0 && !strings.HasPrefix(all[i:], "<#"+fzChannel+">") {
		t.Fatalf("%q: reply links a channel from the input:\n%s", input, all)
	}
}

// FuzzCommand runs arbitrary /internship text through the parser, the command table and every
// command that needs no Web API call, as a member and as an admin.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{
		"", "help", "HELP", "pay", "where is it?", "details", "me", "results", "forget", "deadlines",
		"remind on", "remind off", "remind", "remind maybe", "close",
		"deadline", "deadline add", "deadline add 2027-01-15 Final round", "deadline add 2026-02-30 x",
		"deadline add 2026-11-30 past", "deadline add 2027-13-01 x", "deadline add ２０２７-01-01 x",
		"deadline remove Final round", "deadline rm nothing", "deadline frob x y",
		"deadline add 2027-01-15 <!channel> <@U123> &amp;", "<!here> pay", "<@U0ADMIN|ada>", "<#C0OTHER|x>", "@channel @HERE @everyone", "deadline add 2027-01-15 @here party",
		"pay\x00\x01\u202e", "\xff\xfe pay", strings.Repeat("x", 5000), strings.Repeat("é", 3000),
		"deadline add 2027-01-15 " + strings.Repeat("n", 101),
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	b, st, _ := fuzzBot(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, text string, asAdmin bool) {
		user := fzMember
		if asAdmin {
			user = fzAdmin
		}
		args := strings.Fields(cleanText(text))
		if len(args) > 0 && strings.EqualFold(args[0], "poll") {
			t.Skip("posts a message: needs the Web API")
		}
		st.added = st.added[:0]
		r := b.execute(ctx, slack.SlashCommand{Command: "/internship", Text: text, UserID: user, ChannelID: fzChannel})
		checkReply(t, text, r)
		for _, d := range st.added {
			date, err := config.ParseDate(d.Date)
			switch {
			case !asAdmin:
				t.Fatalf("%q: a member added deadline %+v", text, d)
			case err != nil:
				t.Fatalf("%q: stored a deadline with a bad date %q: %v", text, d.Date, err)
			case date.Before(config.DateOf(b.now())):
				t.Fatalf("%q: stored a deadline in the past: %s", text, d.Date)
			case d.Name == "" || utf8.RuneCountInString(d.Name) > maxDeadlineName || d.Name != strings.Join(strings.Fields(d.Name), " "):
				t.Fatalf("%q: stored a bad deadline name %q", text, d.Name)
			case !utf8.ValidString(d.Name):
				t.Fatalf("%q: stored a deadline name that is not UTF-8: %q", text, d.Name)
			}
		}
	})
}

// decodeEnvelope does to one WebSocket message what slack-go's socketmode.Client does before the bot
// sees it (receiveMessagesInto, then the unexported Client.parseEvent): read one JSON value (a frame
// that is not JSON never reaches the bot), then decode it by envelope type with the same parsers.
// disconnect reports an envelope slack-go handles itself by reconnecting.
func decodeEnvelope(frame []byte) (evt socketmode.Event, disconnect, ok bool) {
	var msg json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(frame)).Decode(&msg); err != nil {
		return socketmode.Event{}, false, false
	}
	bad := func(err error) (socketmode.Event, bool, bool) {
		return socketmode.Event{Type: socketmode.EventTypeErrorBadMessage, Data: &socketmode.ErrorBadMessage{Cause: err, Message: msg}}, false, true
	}
	req := &socketmode.Request{}
	if err := json.Unmarshal(msg, req); err != nil {
		return bad(err)
	}
	switch req.Type {
	case socketmode.RequestTypeHello:
		return socketmode.Event{Type: socketmode.EventTypeHello, Request: req}, false, true
	case socketmode.RequestTypeEventsAPI:
		ev, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken())
		if err != nil {
			return bad(err)
		}
		return socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: ev, Request: req}, false, true
	case socketmode.RequestTypeDisconnect:
		return socketmode.Event{}, true, true
	case socketmode.RequestTypeSlashCommands:
		var cmd slack.SlashCommand
		if err := json.Unmarshal(req.Payload, &cmd); err != nil {
			return bad(err)
		}
		return socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: cmd, Request: req}, false, true
	case socketmode.RequestTypeInteractive:
		var cb slack.InteractionCallback
		if err := json.Unmarshal(req.Payload, &cb); err != nil {
			return bad(err)
		}
		return socketmode.Event{Type: socketmode.EventTypeInteractive, Data: cb, Request: req}, false, true
	default:
		return bad(fmt.Errorf("processing WebSocket message: encountered unsupported type %q", req.Type))
	}
}

// handled is what the bot did with one envelope.
type handled struct {
	acks    float64
	queued  []pendingReaction
	panics  float64
	skipped bool // not JSON, or a disconnect: the bot never sees it
}

// handleFrame decodes frame as slack-go would and dispatches it on b as the event loop does, then
// waits for the command goroutines and takes what reached the reaction batcher.
func handleFrame(tb testing.TB, b *run, reg *prometheus.Registry, frame []byte) handled {
	tb.Helper()
	evt, disconnect, ok := decodeEnvelope(frame)
	if !ok || disconnect {
		return handled{skipped: true}
	}
	if sc, ok := evt.Data.(slack.SlashCommand); ok {
		sc.ResponseURL = "" // a fuzzed response_url must not send the fuzzer onto the network
		evt.Data = sc
	}
	acks0, panics0 := metricSum(tb, reg, "internbot_envelopes_acked_total"), metricSum(tb, reg, "internbot_panics_recovered_total")
	ackClient(b)
	if _, ok := evt.Data.(slack.SlashCommand); ok {
		b.dispatch(context.Background(), evt)
	} else {
		// The event loop's own path: the fast decoder first, then slack-go's parse.
		b.onFrame(context.Background(), frame, time.Now())
	}
	b.work.Wait()
	var h handled
	for len(b.reactions) > 0 {
		h.queued = append(h.queued, <-b.reactions)
	}
	h.acks = metricSum(tb, reg, "internbot_envelopes_acked_total") - acks0
	h.panics = metricSum(tb, reg, "internbot_panics_recovered_total") - panics0
	return h
}

// checkQueued holds a reaction the bot is about to record to the rules of the poll.
func checkQueued(tb testing.TB, b *run, frame []byte, p pendingReaction) {
	tb.Helper()
	poll, _ := b.polls.byID(p.ev.PollID)
	switch {
	case p.ev.PollID != 1 || poll.ID != 1:
		tb.Fatalf("queued a reaction to poll %d: %s", p.ev.PollID, frame)
	case p.ev.User == "" || p.ev.User == fzBotUser:
		tb.Fatalf("queued a reaction by %q: %s", p.ev.User, frame)
	case !hasOption(poll, p.ev.Reaction):
		tb.Fatalf("queued reaction %q, not a poll option: %s", p.ev.Reaction, frame)
	case !validTS(p.ev.EventTS):
		tb.Fatalf("queued a reaction with event_ts %q: %s", p.ev.EventTS, frame)
	case p.req == nil || p.req.EnvelopeID == "":
		// Harmless to the store, but the batcher could never ack it.
	}
}

// FuzzEnvelope feeds arbitrary WebSocket messages to the bot: each is decoded as slack-go decodes it
// and dispatched as the event loop does. Whatever arrives, the bot must not panic, must ack each
// envelope exactly once (directly, or by queueing a reaction whose batch acks it), and must queue only
// valid answers to the open poll.
func FuzzEnvelope(f *testing.F) {
	for _, s := range envelopeSeeds() {
		f.Add([]byte(s))
	}
	b, _, reg := fuzzBot(f)
	f.Fuzz(func(t *testing.T, frame []byte) {
		h := handleFrame(t, b, reg, frame)
		if h.skipped {
			return
		}
		if h.panics != 0 {
			t.Fatalf("handler panicked on %s", frame)
		}
		for _, p := range h.queued {
			checkQueued(t, b, frame, p)
		}
		evt, _, _ := decodeEnvelope(frame)
		want := 0.0
		switch {
		case evt.Type == socketmode.EventTypeErrorBadMessage:
			var env struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal(evt.Data.(*socketmode.ErrorBadMessage).Message, &env) == nil && env.EnvelopeID != "" {
				want = 1
			}
		case evt.Type == socketmode.EventTypeHello:
		case evt.Request != nil && evt.Request.EnvelopeID != "":
			want = 1
		}
		if want == 0 && h.acks == 0 && len(h.queued) <= 1 {
			return // no envelope_id (Slack always sends one): nothing to ack, a valid answer still counts
		}
		if got := h.acks + float64(len(h.queued)); got != want {
			t.Fatalf("%v acks and %d queued, want %v in all: %s", h.acks, len(h.queued), want, frame)
		}
	})
}

// FuzzReactionEvent builds well-formed reaction events from arbitrary field values: the bot must queue
// exactly those that are an answer to the open poll, and queue them as sent.
func FuzzReactionEvent(f *testing.F) {
	f.Add("reaction_added", fzMember, "white_check_mark", "message", fzChannel, fzPollTS, "1764579700.000200")
	f.Add("reaction_removed", fzMember, "x", "message", fzChannel, fzPollTS, "1764579700.000200")
	f.Add("reaction_added", fzBotUser, "x", "message", fzChannel, fzPollTS, "1764579700.000200")
	f.Add("reaction_added", "", "x", "message", fzChannel, fzPollTS, "1764579700.000200")
	f.Add("reaction_added", fzMember, "x", "file", fzChannel, fzPollTS, "1764579700.000200")
	f.Add("reaction_added", fzMember, "x", "message", fzChannel, "1764579600.0001", "1764579700")
	f.Add("reaction_added", fzMember, "x", "message", "C0OTHER", fzPollTS, "1764579700.000200")
	f.Add("reaction_added", fzMember, "x", "message", fzChannel, fzPollTS, "-1.5")
	f.Add("reaction_added", fzMember, "x::skin-tone-2", "message", fzChannel, fzPollTS, "1764579700.000200")
	f.Add("reaction_added", fzMember, "thinking_face", "message", fzChannel, fzPollTS, "99999999999999.1")
	f.Add("message", fzMember, "x", "message", fzChannel, fzPollTS, "1764579700.000200")
	b, _, reg := fuzzBot(f)
	f.Fuzz(func(t *testing.T, typ, user, reaction, itemType, channel, ts, eventTS string) {
		payload, err := json.Marshal(map[string]any{
			"type": "event_callback", "event_id": "Ev0FUZZ", "event_time": 1764579700, "team_id": "T0EMU",
			"event": map[string]any{"type": typ, "user": user, "reaction": reaction, "event_ts": eventTS,
				"item": map[string]any{"type": itemType, "channel": channel, "ts": ts}},
		})
		if err != nil {
			t.Fatal(err)
		}
		frame, _ := json.Marshal(map[string]any{"envelope_id": "e-1", "type": "events_api", "payload": json.RawMessage(payload)})
		// What the bot sees is the JSON round trip of the inputs (invalid UTF-8 becomes U+FFFD).
		var seen struct {
			Event struct {
				Type, User, Reaction string
				EventTS              string `json:"event_ts"`
				Item                 struct{ Type, Channel, TS string }
			}
		}
		if err := json.Unmarshal(payload, &seen); err != nil {
			t.Fatal(err)
		}
		e := seen.Event
		h := handleFrame(t, b, reg, frame)
		if h.skipped || h.panics != 0 {
			t.Fatalf("skipped=%v panics=%v: %s", h.skipped, h.panics, frame)
		}
		opts := b.cfg.Poll.Options
		isOption := false
		for _, o := range opts {
			isOption = isOption || o.Reaction == baseReaction(e.Reaction) // a skin tone is the same answer
		}
		want := (e.Type == "reaction_added" || e.Type == "reaction_removed") && e.User != "" && e.User != fzBotUser &&
			isOption && e.Item.Type == "message" && e.Item.Channel == fzChannel && e.Item.TS == fzPollTS && validTS(e.EventTS)
		if want != (len(h.queued) == 1) || len(h.queued) > 1 {
			t.Fatalf("queued %d, want queued=%v: %s", len(h.queued), want, frame)
		}
		if !want {
			if h.acks != 1 {
				t.Fatalf("%v acks, want 1: %s", h.acks, frame)
			}
			return
		}
		got := h.queued[0].ev
		if got.User != e.User || got.Reaction != baseReaction(e.Reaction) || got.EventTS != e.EventTS || got.Added != (e.Type == "reaction_added") || got.EventID != "Ev0FUZZ" {
			t.Fatalf("queued %+v for %s", got, frame)
		}
	})
}

// envelopeSeeds are the WebSocket messages FuzzEnvelope starts from: what Slack sends, and the ways
// it could be wrong.
func envelopeSeeds() []string {
	reaction := func(event string) string {
		return `{"envelope_id":"e-1","type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":"",` +
			`"payload":{"type":"event_callback","event_id":"Ev01","event_time":1764579700,"team_id":"T0EMU","event":` + event + `}}`
	}
	ok := `{"type":"reaction_added","user":"U0MEMBER","reaction":"white_check_mark","item":{"type":"message","channel":"C0INTERN","ts":"1764579600.000100"},"event_ts":"1764579700.000200"}`
	slash := func(payload string) string {
		return `{"envelope_id":"e-2","type":"slash_commands","accepts_response_payload":true,"payload":` + payload + `}`
	}
	return []string{
		reaction(ok),
		reaction(strings.Replace(ok, "reaction_added", "reaction_removed", 1)),
		reaction(`{"type":"reaction_added"}`),
		reaction(`{"type":"reaction_added","user":42,"reaction":["x"],"item":"message","event_ts":1}`),
		reaction(`{"type":"reaction_added","user":"U0MEMBER","reaction":"x","item":{"type":"file","file":"F1","channel":"C0INTERN","ts":"1764579600.000100"},"event_ts":"1764579700.000200"}`),
		reaction(`{"type":"reaction_added","user":"U0MEMBER","reaction":"x","item":null,"event_ts":"1764579700.000200"}`),
		reaction(`{"type":"reaction_added","user":"U0MEMBER","reaction":"x","item":{"type":"message","channel":"C0INTERN","ts":"1764579600.000100"},"event_ts":"now"}`),
		reaction(`{"type":"made_up_event","x":1}`),
		reaction(`{"type":"app_mention","user":"U0MEMBER","text":"<@U0BOT> pay","channel":"C0INTERN","ts":"1.2"}`),
		reaction(`{"type":"message","text":"` + strings.Repeat("a", 40000) + `","channel":"C0INTERN"}`),
		reaction(`null`),
		reaction(`"reaction_added"`),
		`{"envelope_id":"e-3","type":"events_api","payload":{"type":"url_verification","challenge":"x"}}`,
		`{"envelope_id":"e-3","type":"events_api","payload":{"type":"app_rate_limited"}}`,
		`{"envelope_id":"e-3","type":"events_api","payload":{"type":"event_callback"}}`,
		`{"envelope_id":"e-3","type":"events_api","payload":[]}`,
		`{"envelope_id":"e-3","type":"events_api","payload":"x"}`,
		`{"envelope_id":"e-3","type":"events_api"}`,
		slash(`{"command":"/internship","text":"pay","user_id":"U0MEMBER","channel_id":"C0INTERN","response_url":"http://127.0.0.1:1/r"}`),
		slash(`{"command":"/internship","text":"deadline add 2027-01-01 <!channel>","user_id":"U0ADMIN","channel_id":"C0INTERN"}`),
		slash(`{"command":"/internship","text":"poll","user_id":"U0ADMIN","channel_id":"C0INTERN"}`),
		slash(`{"command":"/internship","text":` + `"` + strings.Repeat("pay ", 2000) + `"}`),
		slash(`{"text":7}`),
		slash(`[]`),
		slash(`{}`),
		`{"envelope_id":"e-4","type":"interactive","payload":{"type":"block_actions","user":{"id":"U0MEMBER"},"actions":[{"action_id":"x"}]}}`,
		`{"envelope_id":"e-4","type":"interactive","payload":{"type":"view_submission","view":{"state":{"values":{"b":{"a":{"type":"plain_text_input","value":"x"}}}}}}}`,
		`{"envelope_id":"e-4","type":"interactive","payload":"garbage"}`,
		`{"type":"hello","num_connections":1,"debug_info":{"host":"x"},"connection_info":{"app_id":"A1"}}`,
		`{"type":"disconnect","reason":"refresh_requested"}`,
		`{"envelope_id":"e-5","type":"mystery","payload":{}}`,
		`{"envelope_id":5,"type":"events_api"}`,
		`{"type":"events_api","payload":{"type":"event_callback","event":` + ok + `}}`,
		`[]`, `null`, `"hello"`, `{`, ``, `{"envelope_id":"e-6"}{"type":"hello"}`,
	}
}

// FuzzDeadlineAdd checks `/internship deadline add DATE NAME…` as an admin against an independent
// reading of the same words: a deadline is stored exactly when the date is real and not past and the
// name is short enough, and it is stored as written (words joined by single spaces).
func FuzzDeadlineAdd(f *testing.F) {
	for _, s := range [][2]string{
		{"2027-01-15", "Final round"}, {"2026-12-01", "today"}, {"2026-11-30", "yesterday"}, {"2026-02-29", "no leap"},
		{"2028-02-29", "leap"}, {"0000-01-01", "year zero"}, {"9999-12-31", "far"}, {"2027-1-5", "short"},
		{"2027-01-15\t", "tab"}, {"2027-01-15", "<!channel> &lt; *bold* `code`"}, {"2027-01-15", strings.Repeat("n", 100)},
		{"2027-01-15", strings.Repeat("é", 51)}, {"2027-01-15", "  spaced   out  "}, {"2027-01-15", "\x00\xff"},
		{"+2027-01-15", "sign"}, {"２０２７-01-15", "wide digits"},
	} {
		f.Add(s[0], s[1])
	}
	b, _, _ := fuzzBot(f)
	today := config.DateOf(b.now().In(b.cfg.Timezone))
	f.Fuzz(func(t *testing.T, date, name string) {
		st := newFakeStore(b.store.(*fakeStore).poll)
		b.store = st
		text := "deadline add " + date + " " + name
		r := b.execute(context.Background(), slack.SlashCommand{Command: "/internship", Text: text, UserID: fzAdmin, ChannelID: fzChannel})
		checkReply(t, text, r)

		words := strings.Fields(cleanText(text))
		want := len(words) >= 4
		var d config.Date
		if want {
			var err error
			d, err = config.ParseDate(words[2])
			wantName := strings.Join(words[3:], " ")
			want = err == nil && !d.Before(today) && utf8.RuneCountInString(wantName) <= maxDeadlineName
			if want && (len(st.added) != 1 || st.added[0].Name != wantName || st.added[0].Date != words[2]) {
				t.Fatalf("%q: stored %+v, want %q on %s", text, st.added, wantName, words[2])
			}
		}
		if !want && len(st.added) != 0 {
			t.Fatalf("%q: stored %+v, want nothing", text, st.added)
		}
		if want != strings.HasPrefix(r.Text, "Added ") {
			t.Fatalf("%q: stored=%v but replied %q", text, want, r.Text)
		}
	})
}
