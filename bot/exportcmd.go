package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/export"
)

// cmdExport sends the admin the answers of the poll the command is about (this channel's, else the
// newest in a channel they are in: an admin sees no poll of a channel they are not in) as a CSV in
// their DM with the bot.
func (b *run) cmdExport(ctx context.Context, r *request) (*reply, error) {
	p, err := b.commandPoll(ctx, r.user, r.channel)
	if errors.Is(err, internbot.ErrNotFound) {
		return b.noPollReply(r), nil
	} else if err != nil {
		return nil, err
	}
	if err := b.exportToDM(ctx, r.user, p); err != nil {
		return nil, err
	}
	what := "who answered what"
	if p.Anonymous {
		what = "the counts only (the poll is anonymous)"
	}
	return textReply("Sent the answers to the poll in <#%s> to our DM as a CSV: %s.", p.Channel, what), nil
}

// exportToDM uploads poll p's answers, as `internbot export -poll` writes them (same columns and
// escaping; an anonymous poll's rows carry no names), to user's DM with the bot, through Slack's
// external upload flow: files.getUploadURLExternal, the bytes to its upload_url, then
// files.completeUploadExternal into the DM. Callers check that user may see p's answers (an admin
// in p's channel).
func (b *Bot) exportToDM(ctx context.Context, user string, p internbot.Poll) error {
	var buf bytes.Buffer
	if err := export.CSV(ctx, b.store, export.PollRef{Channel: p.Channel, TS: p.TS}, &buf); err != nil {
		return err
	}
	var dm string
	err := b.call(ctx, "conversations.open", true, func(ctx context.Context) error {
		ch, _, _, err := b.client.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		if err == nil {
			dm = ch.ID
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("open dm: %w", err)
	}
	name := fmt.Sprintf("internship-poll-%s-%s.csv", p.Channel, b.now().In(b.cfg.Timezone).Format("2006-01-02"))
	content := buf.Bytes()
	// Not retried as a whole: a repeated completeUploadExternal would share the file twice.
	err = b.call(ctx, "files.upload", false, func(ctx context.Context) error {
		_, err := b.client.UploadFileContext(ctx, slack.UploadFileParameters{
			Filename: name, FileSize: len(content), Reader: bytes.NewReader(content), Title: name, Channel: dm,
			InitialComment: fmt.Sprintf("Answers to the poll in <#%s>, exported %s.", p.Channel, b.now().In(b.cfg.Timezone).Format(time.RFC1123)),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("upload export: %w", err)
	}
	return nil
}
