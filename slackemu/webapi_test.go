package slackemu_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/internbot/internbot/slackemu"
)

func TestWebAPI_RoundTrip(t *testing.T) {
	clock := time.Unix(1700000000, 0)
	emu := MustStart(t, slackemu.Options{Now: func() time.Time { return clock }})
	ctx := testCtx(t)
	api := newAPI(emu, emu.BotToken())

	t.Run("AuthTest", func(t *testing.T) {
		res, err := api.AuthTestContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.UserID != emu.BotUserID() || res.TeamID != emu.TeamID() || res.BotID != emu.BotID() {
			t.Errorf("auth.test = %+v", res)
		}
	})

	var ts string
	t.Run("PostMessage", func(t *testing.T) {
		blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*poll*", false, false), nil, nil))
		meta := slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "poll", EventPayload: map[string]any{"id": 1}})
		ch, got, err := api.PostMessageContext(ctx, chanGeneral, slack.MsgOptionText("Which?", false), blocks, meta)
		if err != nil {
			t.Fatal(err)
		}
		if ch != chanGeneral || got != "1700000000.000000" {
			t.Errorf("channel %s ts %s", ch, got)
		}
		ts = got
		m, ok := emu.Message(chanGeneral, ts)
		if !ok || m.Text != "Which?" || m.User != emu.BotUserID() || m.BotID != emu.BotID() || m.Via != "chat.postMessage" ||
			!bytes.Contains(m.Blocks, []byte(`"*poll*"`)) || !bytes.Contains(m.Metadata, []byte(`"poll"`)) {
			t.Errorf("stored = %+v", m)
		}
		// Same clock reading: ts still strictly increases.
		_, ts2, err := api.PostMessageContext(ctx, chanGeneral, slack.MsgOptionText("again", false), slack.MsgOptionTS(ts))
		if err != nil {
			t.Fatal(err)
		}
		if ts2 != "1700000000.000001" {
			t.Errorf("second ts = %s", ts2)
		}
	})

	t.Run("PostEphemeral", func(t *testing.T) {
		got, err := api.PostEphemeralContext(ctx, chanGeneral, userBob, slack.MsgOptionText("psst", false))
		if err != nil {
			t.Fatal(err)
		}
		m, ok := emu.Message(chanGeneral, got)
		if !ok || !m.Ephemeral || m.ToUser != userBob || m.Via != "chat.postEphemeral" {
			t.Errorf("ephemeral = %+v", m)
		}
	})

	t.Run("Update", func(t *testing.T) {
		ch, gotTS, text, err := api.UpdateMessageContext(ctx, chanGeneral, ts, slack.MsgOptionText("Which one?", false))
		if err != nil {
			t.Fatal(err)
		}
		if ch != chanGeneral || gotTS != ts || text != "Which one?" {
			t.Errorf("update = %s %s %s", ch, gotTS, text)
		}
		m, _ := emu.Message(chanGeneral, ts)
		if m.Edits != 1 || m.Text != "Which one?" || m.Via != "chat.update" {
			t.Errorf("updated = %+v", m)
		}
	})

	t.Run("Reactions", func(t *testing.T) {
		ref := slack.NewRefToMessage(chanGeneral, ts)
		if err := api.AddReactionContext(ctx, "one", ref); err != nil {
			t.Fatal(err)
		}
		emu.SetReactionQuietly(userAlice, chanGeneral, ts, "one", true)
		emu.SetReactionQuietly(userBob, chanGeneral, ts, "two", true)
		item, err := api.GetReactionsContext(ctx, ref, slack.GetReactionsParameters{Full: true})
		if err != nil {
			t.Fatal(err)
		}
		if item.Type != "message" || item.Channel != chanGeneral || item.Message == nil || item.Message.Timestamp != ts {
			t.Fatalf("item = %+v", item)
		}
		want := []slack.ItemReaction{{Name: "one", Count: 2, Users: []string{emu.BotUserID(), userAlice}}, {Name: "two", Count: 1, Users: []string{userBob}}}
		if !equalJSON(t, item.Reactions, want) {
			t.Errorf("reactions = %+v", item.Reactions)
		}
		if err := api.RemoveReactionContext(ctx, "one", ref); err != nil {
			t.Fatal(err)
		}
		if got := emu.Reactions(chanGeneral, ts); len(got["one"]) != 1 || got["one"][0] != userAlice {
			t.Errorf("after remove = %v", got)
		}
	})

	t.Run("ConversationsOpen", func(t *testing.T) {
		ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{userAlice}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ch.ID, "D") || emu.IMChannel(userAlice) != ch.ID {
			t.Errorf("im = %s, IMChannel = %s", ch.ID, emu.IMChannel(userAlice))
		}
		again, noOp, already, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{userAlice}})
		if err != nil || again.ID != ch.ID || !noOp || !already {
			t.Errorf("reopen = %v %v %v %v", again, noOp, already, err)
		}
		// Posting to the user id lands in the same IM.
		got, _, err := api.PostMessageContext(ctx, userAlice, slack.MsgOptionText("hi", false))
		if err != nil || got != ch.ID {
			t.Errorf("post to user = %s %v", got, err)
		}
		if msgs := emu.Messages(userAlice); len(msgs) != 1 || msgs[0].Text != "hi" {
			t.Errorf("IM messages = %+v", msgs)
		}
	})

	t.Run("UsersInfo", func(t *testing.T) {
		u, err := api.GetUserInfoContext(ctx, userAlice)
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != userAlice || u.Name != "alice" || u.RealName != "Alice A" || u.TZ != "Europe/Paris" || !u.IsAdmin ||
			u.Profile.RealName != "Alice A" || u.Profile.DisplayName != "alice" || u.TZOffset != 3600 {
			t.Errorf("user = %+v", u)
		}
	})

	t.Run("Permalink", func(t *testing.T) {
		link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: chanGeneral, Ts: ts})
		if err != nil {
			t.Fatal(err)
		}
		if link != "https://emulator.slack.test/archives/"+chanGeneral+"/p1700000000000000" {
			t.Errorf("permalink = %s", link)
		}
	})

	t.Run("History", func(t *testing.T) {
		clock = clock.Add(time.Minute)
		_, newest, err := api.PostMessageContext(ctx, chanGeneral, slack.MsgOptionText("later", false))
		if err != nil {
			t.Fatal(err)
		}
		h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: chanGeneral, Limit: 1, IncludeAllMetadata: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Messages) != 1 || h.Messages[0].Timestamp != newest || !h.HasMore || h.ResponseMetaData.NextCursor == "" {
			t.Fatalf("page 1 = %+v", h)
		}
		h2, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: chanGeneral, Cursor: h.ResponseMetaData.NextCursor, IncludeAllMetadata: true})
		if err != nil {
			t.Fatal(err)
		}
		// The thread reply and the ephemeral are not history.
		if len(h2.Messages) != 1 || h2.Messages[0].Timestamp != ts || h2.Messages[0].Metadata.EventType != "poll" ||
			len(h2.Messages[0].Reactions) == 0 || h2.HasMore {
			t.Errorf("page 2 = %+v", h2.Messages)
		}
		// Without include_all_metadata, Slack leaves metadata out.
		plain, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: chanGeneral})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range plain.Messages {
			if m.Metadata.EventType != "" {
				t.Errorf("metadata %q returned without include_all_metadata", m.Metadata.EventType)
			}
		}
		h3, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: chanGeneral, Oldest: ts})
		if err != nil || len(h3.Messages) != 1 || h3.Messages[0].Timestamp != newest {
			t.Errorf("oldest (exclusive) = %+v %v", h3, err)
		}
	})

	t.Run("ConversationsInfo", func(t *testing.T) {
		ch, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: chanRandom})
		if err != nil {
			t.Fatal(err)
		}
		if ch.Name != "random" || ch.IsMember || ch.IsPrivate {
			t.Errorf("info = %+v", ch)
		}
	})

	t.Run("ConversationsMembers", func(t *testing.T) {
		var all []string
		params := &slack.GetUsersInConversationParameters{ChannelID: chanGeneral, Limit: 2}
		for page := 0; ; page++ {
			members, next, err := api.GetUsersInConversationContext(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if len(members) > 2 || page > 3 {
				t.Fatalf("page %d has %d members, limit 2", page, len(members))
			}
			all = append(all, members...)
			if next == "" {
				break
			}
			params.Cursor = next
		}
		slices.Sort(all)
		if want := []string{emu.BotUserID(), userAlice, userBob}; !slices.Equal(all, slices.Sorted(slices.Values(want))) {
			t.Errorf("members = %v, want %v", all, want)
		}
		// A public channel the bot is not in still lists its members; a private one does not exist.
		if members, _, err := api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: chanRandom}); err != nil || !slices.Equal(members, []string{userAlice}) {
			t.Errorf("members of a public channel the bot is not in = %v, %v", members, err)
		}
		emu.AddChannel(slackemu.Channel{ID: "C0SECRET", Name: "secret", Private: true, Members: []string{userAlice}})
		_, _, err := api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: "C0SECRET"})
		var se slack.SlackErrorResponse
		if !errors.As(err, &se) || se.Err != "channel_not_found" {
			t.Errorf("members of a private channel the bot is not in: err = %v, want channel_not_found", err)
		}
		_, _, err = api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: chanGeneral, Cursor: "!!"})
		if !errors.As(err, &se) || se.Err != "invalid_cursor" {
			t.Errorf("bad cursor: err = %v, want invalid_cursor", err)
		}
	})
}

// TestWebAPI_BotReactionEvent: Slack tells the app about its own reactions.
func TestWebAPI_BotReactionEvent(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	ctx := testCtx(t)
	a := startApp(t, emu, nil)
	if err := emu.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	_, ts, err := a.api.PostMessageContext(ctx, chanGeneral, slack.MsgOptionText("poll", false))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.api.AddReactionContext(ctx, "one", slack.NewRefToMessage(chanGeneral, ts)); err != nil {
		t.Fatal(err)
	}
	evt := a.next(t, ctx, socketmode.EventTypeEventsAPI)
	inner := evt.Data.(slackevents.EventsAPIEvent).InnerEvent
	if inner.Type != "reaction_added" {
		t.Fatalf("inner type %s", inner.Type)
	}
	b, _ := json.Marshal(inner.Data)
	var ra struct {
		User     string `json:"user"`
		ItemUser string `json:"item_user"`
		Reaction string `json:"reaction"`
	}
	_ = json.Unmarshal(b, &ra)
	if ra.User != emu.BotUserID() || ra.ItemUser != emu.BotUserID() || ra.Reaction != "one" {
		t.Errorf("event = %s", b)
	}

	t.Run("AddReactionDriver", func(t *testing.T) {
		ack, err := emu.AddReaction(ctx, userAlice, chanGeneral, ts, "two")
		if err != nil || ack.EnvelopeID == "" {
			t.Fatalf("AddReaction = %+v %v", ack, err)
		}
		// Already present: no event, zero Ack.
		ack, err = emu.AddReaction(ctx, userAlice, chanGeneral, ts, "two")
		if err != nil || ack.EnvelopeID != "" {
			t.Errorf("repeat AddReaction = %+v %v", ack, err)
		}
		if _, err := emu.RemoveReaction(ctx, userAlice, chanGeneral, ts, "two"); err != nil {
			t.Fatal(err)
		}
		if _, err := emu.AddReaction(ctx, userAlice, chanGeneral, "9.000000", "two"); !errors.Is(err, slackemu.ErrMessageNotFound) {
			t.Errorf("unknown message: %v", err)
		}
	})
}

func TestWebAPI_Errors(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	ctx := testCtx(t)
	bot := newAPI(emu, emu.BotToken())
	_, ts, err := bot.PostMessageContext(ctx, chanGeneral, slack.MsgOptionText("x", false))
	if err != nil {
		t.Fatal(err)
	}
	emu.AddChannel(slackemu.Channel{ID: chanGeneral, Name: "general", Members: []string{emu.BotUserID(), userAlice}})

	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"ErrNotAuthed", func() error { _, err := newAPI(emu, "").AuthTestContext(ctx); return err }, "not_authed"},
		{"ErrInvalidAuth", func() error { _, err := newAPI(emu, "xoxb-wrong").AuthTestContext(ctx); return err }, "invalid_auth"},
		{"ErrAppTokenOnBotMethod", func() error {
			_, _, err := newAPI(emu, emu.AppToken()).PostMessageContext(ctx, chanGeneral, slack.MsgOptionText("x", false))
			return err
		}, "not_allowed_token_type"},
		{"ErrBotTokenOnConnectionsOpen", func() error {
			_, _, err := slack.New(emu.BotToken(), slack.OptionAPIURL(emu.APIURL()), slack.OptionAppLevelToken(emu.BotToken())).StartSocketModeContext(ctx)
			return err
		}, "not_allowed_token_type"},
		{"ErrNotInChannel", func() error {
			_, _, err := bot.PostMessageContext(ctx, chanRandom, slack.MsgOptionText("x", false))
			return err
		}, "not_in_channel"},
		{"ErrChannelNotFound", func() error {
			_, _, err := bot.PostMessageContext(ctx, "C0NOPE", slack.MsgOptionText("x", false))
			return err
		}, "channel_not_found"},
		{"ErrNoText", func() error { _, _, err := bot.PostMessageContext(ctx, chanGeneral); return err }, "no_text"},
		{"ErrMsgTooLong", func() error {
			_, _, err := bot.PostMessageContext(ctx, chanGeneral, slack.MsgOptionText(strings.Repeat("a", 40001), false))
			return err
		}, "msg_too_long"},
		{"ErrUserNotInChannel", func() error {
			_, err := bot.PostEphemeralContext(ctx, chanGeneral, userBob, slack.MsgOptionText("x", false))
			return err
		}, "user_not_in_channel"},
		{"ErrMessageNotFound", func() error {
			_, _, _, err := bot.UpdateMessageContext(ctx, chanGeneral, "1.000000", slack.MsgOptionText("x", false))
			return err
		}, "message_not_found"},
		{"ErrCantUpdateMessage", func() error {
			_, _, _, err := bot.UpdateMessageContext(ctx, chanGeneral, userMessage(t, emu), slack.MsgOptionText("x", false))
			return err
		}, "cant_update_message"},
		{"ErrAlreadyReacted", func() error {
			ref := slack.NewRefToMessage(chanGeneral, ts)
			if err := bot.AddReactionContext(ctx, "dup", ref); err != nil {
				return err
			}
			return bot.AddReactionContext(ctx, "dup", ref)
		}, "already_reacted"},
		{"ErrNoReaction", func() error {
			return bot.RemoveReactionContext(ctx, "never", slack.NewRefToMessage(chanGeneral, ts))
		}, "no_reaction"},
		{"ErrUserNotFound", func() error { _, err := bot.GetUserInfoContext(ctx, "U0NOPE"); return err }, "user_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var se slack.SlackErrorResponse
			if !errors.As(err, &se) || se.Err != tt.want {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}

	t.Run("ErrUnknownMethod", func(t *testing.T) {
		resp, err := http.PostForm(emu.APIURL()+"chat.nope", url.Values{"token": {emu.BotToken()}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != http.StatusNotFound || body["error"] != "unknown_method" {
			t.Errorf("status %d body %v", resp.StatusCode, body)
		}
	})

	t.Run("ErrRateLimited", func(t *testing.T) {
		emu.Fail("chat.postMessage", slackemu.Failure{Status: http.StatusTooManyRequests, RetryAfter: 3})
		before := emu.Calls("chat.postMessage")
		_, _, err := bot.PostMessageContext(ctx, chanGeneral, slack.MsgOptionText("x", false))
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second {
			t.Fatalf("err = %v", err)
		}
		if _, _, err := bot.PostMessageContext(ctx, chanGeneral, slack.MsgOptionText("x", false)); err != nil {
			t.Errorf("second call: %v", err)
		}
		if got := emu.Calls("chat.postMessage") - before; got != 2 {
			t.Errorf("calls = %d", got)
		}
	})

	t.Run("ErrInjected", func(t *testing.T) {
		emu.Fail("users.info", slackemu.Failure{Error: "fatal_error", Times: 2})
		for range 2 {
			if _, err := bot.GetUserInfoContext(ctx, userAlice); err == nil || err.Error() != "fatal_error" {
				t.Errorf("err = %v", err)
			}
		}
		emu.Fail("users.info", slackemu.Failure{Status: 503})
		var sc slack.StatusCodeError
		if _, err := bot.GetUserInfoContext(ctx, userAlice); !errors.As(err, &sc) || sc.Code != 503 {
			t.Errorf("err = %v", err)
		}
		if _, err := bot.GetUserInfoContext(ctx, userAlice); err != nil {
			t.Error(err)
		}
	})
}

// userMessage puts a message authored by a user (not the bot) into #general.
func userMessage(tb testing.TB, emu *slackemu.Server) string {
	tb.Helper()
	ts, err := emu.PostAsUser(userAlice, chanGeneral, "hello from alice")
	if err != nil {
		tb.Fatal(err)
	}
	return ts
}

func TestWebAPI_JSONBody(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	body := `{"channel":"` + chanGeneral + `","text":"json","blocks":[{"type":"divider"}],"unfurl_links":false}`
	req, _ := http.NewRequest(http.MethodPost, emu.APIURL()+"chat.postMessage", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+emu.BotToken())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res struct {
		OK      bool   `json:"ok"`
		TS      string `json:"ts"`
		Message struct {
			Type   string          `json:"type"`
			BotID  string          `json:"bot_id"`
			Blocks json.RawMessage `json:"blocks"`
		} `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || !res.OK {
		t.Fatalf("%v %+v", err, res)
	}
	if res.Message.Type != "message" || res.Message.BotID != emu.BotID() || string(res.Message.Blocks) != `[{"type":"divider"}]` {
		t.Errorf("message = %+v", res.Message)
	}
}

func equalJSON(tb testing.TB, a, b any) bool {
	tb.Helper()
	return bytes.Equal(mustJSON(tb, a), mustJSON(tb, b))
}
