package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot"
)

// ClickStore is what the poll's buttons use: a click is an answer beside the reactions (the rule is
// storage's: the newest standing expression wins).
type ClickStore interface {
	ApplyClick(ctx context.Context, c internbot.Click) (internbot.ClickResult, error)
	ForgetClick(ctx context.Context, pollID int64, user, actionTS string) (string, error)
}

// clickPoll is the poll a button belongs to: the message it is on (the poll's own buttons), else the
// poll id its value carries (the Home's buttons, the ephemeral that confirms an answer), for a member
// of its channel only. ok false means the person has been told why not.
func (b *run) clickPoll(ctx context.Context, in *interaction) (internbot.Poll, bool, error) {
	if p, ok := b.polls.get(in.cb.Container.ChannelID, in.cb.Container.MessageTs); ok {
		return p, true, nil
	}
	p, _, err := b.valuePoll(ctx, in.cb.User.ID, in.action.Value)
	switch {
	case errors.Is(err, errNotMember):
		in.ack(nil)
		b.refuse(ctx, in, notMemberText)
		return p, false, nil
	case errors.Is(err, internbot.ErrNotFound), errors.Is(err, internbot.ErrInvalid):
		in.ack(nil)
		b.refuse(ctx, in, "That poll is gone: there is nothing to answer.")
		return p, false, nil
	case err != nil:
		return p, false, err
	}
	return p, true, nil
}

// refuse tells the person why their click did nothing: on the response_url when the button was on a
// message, else (a Home button has none) in a DM.
func (b *run) refuse(ctx context.Context, in *interaction, text string) {
	if in.cb.ResponseURL != "" {
		b.respondTo(ctx, in, textReply("%s", text))
		return
	}
	b.dm(ctx, in.cb.User.ID, text)
}

// onPollAnswer stores a click on an option button, then acks: an acked click is on disk. The person
// gets an ephemeral saying what their answer is now, with buttons to change or forget it. The reply
// goes on the interaction's response_url: it needs no scope, works wherever the button was (even
// where chat.postEphemeral would refuse a person not in the channel), and on the confirming
// ephemeral's own buttons it replaces that ephemeral instead of stacking another.
func (b *run) onPollAnswer(ctx context.Context, in *interaction) error {
	p, ok, err := b.clickPoll(ctx, in)
	if err != nil || !ok {
		return err
	}
	pos, err := strconv.Atoi(in.arg)
	switch {
	case err != nil || pos < 0 || pos >= len(p.Options):
		in.ack(nil)
		b.log.Warn("poll button with a bad option", "action_id", truncate(in.action.ActionID, 40))
		return nil
	case p.Closed():
		in.ack(nil)
		b.respondTo(ctx, in, b.closedClickReply(ctx, p))
		return nil
	}
	actionTS := b.actionTS(in)
	res, err := b.store.ApplyClick(ctx, internbot.Click{PollID: p.ID, User: in.cb.User.ID, Option: pos,
		MessageTS: in.cb.Container.MessageTs, ActionTS: actionTS, OrderTS: b.orderTS(actionTS)})
	switch {
	case errors.Is(err, internbot.ErrPollClosed):
		in.ack(nil)
		b.respondTo(ctx, in, b.closedClickReply(ctx, p))
		return nil
	case err != nil:
		return fmt.Errorf("store click: %w", err)
	}
	in.ack(nil)
	if !res.Duplicate {
		b.updates.markAnswer(p.ID, in.cb.User.ID)
	}
	b.respondTo(ctx, in, answeredReply(p, res.Answer, p.Options[pos].Answer))
	return nil
}

// onPollForget withdraws the person's click; their reactions stand.
func (b *run) onPollForget(ctx context.Context, in *interaction) error {
	p, ok, err := b.clickPoll(ctx, in)
	if err != nil || !ok {
		return err
	}
	actionTS := b.actionTS(in)
	if o := b.orderTS(actionTS); o != "" {
		actionTS = o
	}
	answer, err := b.store.ForgetClick(ctx, p.ID, in.cb.User.ID, actionTS)
	switch {
	case errors.Is(err, internbot.ErrPollClosed):
		in.ack(nil)
		b.respondTo(ctx, in, b.closedClickReply(ctx, p))
		return nil
	case err != nil:
		return fmt.Errorf("forget click: %w", err)
	}
	in.ack(nil)
	b.updates.markAnswer(p.ID, in.cb.User.ID)
	if answer == "" {
		b.respondTo(ctx, in, textReply("Done: you have no answer on the poll in <#%s> now.", p.Channel))
		return nil
	}
	return b.respondTo(ctx, in, textReply("Done: I forgot your click. Your answer is still *%s*, from your reaction on the poll in <#%s>; remove the reaction to withdraw it.",
		escape(answer), p.Channel))
}

// actionTS is when the person pressed the button, on Slack's clock.
func (b *run) actionTS(in *interaction) string {
	if in.action.ActionTs != "" {
		return in.action.ActionTs
	}
	return in.cb.ActionTs
}

// orderTS is "" when actionTS can order the person's expressions; for one too far ahead of Slack's
// clock, which would outrank every later expression of theirs, it is now on Slack's clock. Only the
// order changes: a redelivery still carries, and is recognised by, the original action_ts.
func (b *run) orderTS(actionTS string) string {
	if !b.aheadOfSlack(actionTS) {
		return ""
	}
	return internbot.FormatSlackTS(b.slackClock.now(b.now()).UnixMicro())
}

// answeredReply is "You answered *maybe*" with buttons to change or forget it. got is the answer
// the store derived, clicked the one the person clicked: they differ when a newer reaction of theirs
// outranks a click that arrived late.
func answeredReply(p internbot.Poll, got, clicked string) *reply {
	text := fmt.Sprintf("You answered *%s* on the poll in <#%s>.", escape(got), p.Channel)
	if got != clicked {
		text = fmt.Sprintf("Your answer stays *%s*: your reaction on the poll in <#%s> is newer than that click.", escape(got), p.Channel)
	}
	buttons := answerButtons(p, got, func(a string) string { return "Change to " + a })
	forget := slack.NewButtonBlockElement(actionPollForget, strconv.FormatInt(p.ID, 10),
		slack.NewTextBlockObject(slack.PlainTextType, "Forget my click", false, false))
	forget.AccessibilityLabel = "Forget the answer you gave with a button"
	buttons = append(buttons, forget)
	var how []string
	for _, o := range p.Options {
		if o.Answer != got {
			how = append(how, "change to *"+escape(o.Answer)+"*")
		}
	}
	fallback := text + " · " + strings.Join(how, " · ") + " · forget"
	return &reply{ResponseType: slack.ResponseTypeEphemeral, Text: fallback,
		Blocks: []slack.Block{mrkdwnSection(text), slack.NewActionBlock("poll_answered", buttons...)}}
}

// closedClickReply answers a click on a closed poll: nothing is stored.
func (b *run) closedClickReply(ctx context.Context, p internbot.Poll) *reply {
	counts, err := b.store.Counts(ctx, p.ID)
	if err != nil {
		return textReply("This poll is closed, so your click was not recorded.")
	}
	return textReply("This poll is closed, so your click was not recorded. Final counts: %s", countsLine(p.Options, counts))
}

// respondTo answers an interaction on its response_url, ephemerally; a click on the bot's own
// ephemeral replaces that ephemeral.
func (b *run) respondTo(ctx context.Context, in *interaction, r *reply) error {
	if in.cb.ResponseURL == "" {
		return nil
	}
	msg := &slack.WebhookMessage{Text: r.Text, ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: in.cb.Container.IsEphemeral}
	if len(r.Blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: r.Blocks}
	}
	err := b.call(ctx, "response_url", false, func(ctx context.Context) error {
		return postResponse(ctx, in.cb.ResponseURL, msg)
	})
	if err != nil {
		b.metrics.handlerError("response_url")
		b.log.Warn("could not answer on the response_url", "err", err)
	}
	return nil
}
