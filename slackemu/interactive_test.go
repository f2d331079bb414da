package slackemu_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/internbot/internbot/slackemu"
)

// settable is a clock a test moves by hand.
type settable struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settable) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *settable) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A click on a bot message's button reaches the app as slack-go reads a block_actions payload: the
// action, the container, a trigger_id and a response_url that answers in the channel.
func TestInteractive_BlockActions(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	ctx := testCtx(t)
	a := startApp(t, emu, nil)
	if err := emu.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	btn := slack.NewButtonBlockElement("vote:1", "7", slack.NewTextBlockObject(slack.PlainTextType, "maybe", false, false))
	_, ts, err := a.api.PostMessageContext(ctx, chanGeneral, slack.MsgOptionText("poll", false),
		slack.MsgOptionBlocks(slack.NewActionBlock("answers", btn)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := emu.Click(ctx, userBob, chanGeneral, ts, "nope"); !errors.Is(err, slackemu.ErrNoSuchButton) {
		t.Fatalf("click on a button the message does not have: %v", err)
	}
	if _, err := emu.Click(ctx, userBob, chanGeneral, ts, "vote:1"); err != nil {
		t.Fatal(err)
	}
	evt := a.next(t, ctx, socketmode.EventTypeInteractive)
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		t.Fatalf("data is %T", evt.Data)
	}
	if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != userBob || cb.Container.MessageTs != ts ||
		cb.Container.ChannelID != chanGeneral || cb.Channel.ID != chanGeneral || cb.TriggerID == "" || cb.ResponseURL == "" ||
		cb.Message.Timestamp != ts {
		t.Fatalf("payload: %+v", cb)
	}
	acts := cb.ActionCallback.BlockActions
	if len(acts) != 1 || acts[0].ActionID != "vote:1" || acts[0].Value != "7" || acts[0].BlockID != "answers" ||
		acts[0].ActionTs == "" || acts[0].Text.Text != "maybe" {
		t.Fatalf("actions: %+v", acts)
	}
	// The response_url answers in the channel, ephemerally.
	if err := slack.PostWebhookContext(ctx, cb.ResponseURL, &slack.WebhookMessage{Text: "noted", ResponseType: "ephemeral"}); err != nil {
		t.Fatal(err)
	}
	msgs := emu.Messages(chanGeneral)
	if last := msgs[len(msgs)-1]; last.Text != "noted" || !last.Ephemeral || last.ToUser != userBob {
		t.Fatalf("response_url reply: %+v", last)
	}
}

// A trigger_id opens one modal within 3 s of the interaction, as on Slack.
func TestInteractive_TriggerExpires(t *testing.T) {
	clk := &settable{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	emu := MustStart(t, slackemu.Options{Now: clk.Now})
	ctx := testCtx(t)
	api := newAPI(emu, emu.BotToken())
	view := slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject(slack.PlainTextType, "Add a deadline", false, false),
		CallbackID: "deadline_add", Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "hi", false, false), nil, nil)}}}

	in := emu.NewInteraction("shortcut", userAlice, "", "")
	if _, err := api.OpenViewContext(ctx, in.TriggerID, view); err != nil {
		t.Fatalf("views.open with a fresh trigger: %v", err)
	}
	if _, err := api.OpenViewContext(ctx, in.TriggerID, view); err == nil || !strings.Contains(err.Error(), "exchanged_trigger_id") {
		t.Fatalf("second views.open with one trigger: %v", err)
	}
	if vs := emu.Views(userAlice); len(vs) != 1 || vs[0].CallbackID != "deadline_add" {
		t.Fatalf("views: %+v", vs)
	}

	late := emu.NewInteraction("shortcut", userAlice, "", "")
	clk.Add(3*time.Second + time.Millisecond)
	if _, err := api.OpenViewContext(ctx, late.TriggerID, view); err == nil || !strings.Contains(err.Error(), "expired_trigger_id") {
		t.Fatalf("views.open 3 s after the interaction: %v", err)
	}
	if _, err := api.OpenViewContext(ctx, "123.456.abc", view); err == nil || !strings.Contains(err.Error(), "invalid_trigger_id") {
		t.Fatalf("views.open with a made-up trigger: %v", err)
	}
}

// The external upload flow, as slack-go's UploadFileContext drives it, shares the file in the channel.
func TestFiles_UploadExternal(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	ctx := testCtx(t)
	api := newAPI(emu, emu.BotToken())
	content := "poll,user\n1,U0BOB\n"
	f, err := api.UploadFileContext(ctx, slack.UploadFileParameters{Filename: "answers.csv", FileSize: len(content),
		Reader: strings.NewReader(content), Title: "Answers", Channel: chanGeneral, InitialComment: "the export"})
	if err != nil {
		t.Fatal(err)
	}
	files := emu.Files(chanGeneral)
	if len(files) != 1 || files[0].ID != f.ID || string(files[0].Content) != content || files[0].Title != "Answers" ||
		files[0].Comment != "the export" || files[0].Name != "answers.csv" {
		t.Fatalf("files: %+v", files)
	}

	// The bytes must arrive, at the announced length, before the upload can be completed.
	u, err := api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: "x.csv", FileSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{Files: []slack.FileSummary{{ID: u.FileID}}, Channel: chanGeneral})
	if err == nil || !strings.Contains(err.Error(), "file_not_found") {
		t.Fatalf("complete before upload: %v", err)
	}
	// A channel the bot is not in refuses the share.
	u, err = api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{FileName: "y.csv", FileSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.UploadToURL(ctx, slack.UploadToURLParameters{UploadURL: u.UploadURL, Filename: "y.csv", Content: "ab"}); err != nil {
		t.Fatal(err)
	}
	_, err = api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{Files: []slack.FileSummary{{ID: u.FileID}}, Channel: chanRandom})
	if err == nil || !strings.Contains(err.Error(), "not_in_channel") {
		t.Fatalf("complete into a channel without the bot: %v", err)
	}
}

// Buttons are held to Block Kit's limits: a label of at most 75 characters, at most 25 elements in
// an actions block, action_ids unique in their block.
func TestWebAPI_ButtonLimits(t *testing.T) {
	emu := MustStart(t, slackemu.Options{})
	ctx := testCtx(t)
	api := newAPI(emu, emu.BotToken())
	button := func(id, label string) *slack.ButtonBlockElement {
		return slack.NewButtonBlockElement(id, "v", slack.NewTextBlockObject(slack.PlainTextType, label, false, false))
	}
	post := func(elems ...slack.BlockElement) error {
		_, _, err := api.PostMessageContext(ctx, chanGeneral, slack.MsgOptionText("x", false), slack.MsgOptionBlocks(slack.NewActionBlock("", elems...)))
		return err
	}
	if err := post(button("a", strings.Repeat("é", 75))); err != nil {
		t.Fatalf("a 75-character label: %v", err)
	}
	if err := post(button("a", strings.Repeat("é", 76))); err == nil || !strings.Contains(err.Error(), "invalid_blocks") {
		t.Fatalf("a 76-character label: %v", err)
	}
	if err := post(button("a", "x"), button("a", "y")); err == nil {
		t.Fatal("two buttons with one action_id were accepted")
	}
	var many []slack.BlockElement
	for i := range 26 {
		many = append(many, button(strings.Repeat("b", i+1), "x"))
	}
	if err := post(many...); err == nil {
		t.Fatal("26 elements in one actions block were accepted")
	}
}
