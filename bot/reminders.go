package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/remind"
)

// Reminders is the reminder engine this bot runs on its schedule; `remind` in the console and
// `internbot remind` run it once.
func (b *Bot) Reminders() *remind.Engine { return b.reminders }

// reminderEvent is the metadata event_type on every reminder the bot posts. With the event_payload's
// key it lets the engine find, after a crash, a reminder it posted but had not yet recorded.
const reminderEvent = "internbot_reminder"

// reminderSlack is the reminder engine's way to Slack: every call goes through b.call, the one place
// 429s are waited out.
type reminderSlack struct{ b *Bot }

// Post sends one message carrying the reminder metadata. chat.postMessage is not repeated on network
// errors (it may have gone through); FindPosted settles that on the next attempt.
//
// A request under way is finished even when ctx ends (it is a safe point), unless the shutdown's drain
// deadline passes first (see remind.InFlight): then it is abandoned, and FindPosted settles whether
// Slack carried it out. Waiting out a 429 is not finished, since a rate-limited request was not
// carried out and the next run sends it.
func (s reminderSlack) Post(ctx context.Context, channel string, msg remind.Message, key string) (string, error) {
	b := s.b
	text, blocks := renderReminder(msg)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // a storm of 429s may delay a reminder this long
	defer cancel()
	var ts string
	err := b.call(ctx, "chat.postMessage", false, func(ctx context.Context) error {
		ctx, cancel := remind.InFlight(ctx, 10*time.Second)
		defer cancel()
		var err error
		_, ts, err = b.client.PostMessageContext(ctx, channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...),
			slack.MsgOptionMetadata(slack.SlackMetadata{EventType: reminderEvent, EventPayload: map[string]any{"key": key}}))
		return err
	})
	return ts, undeliverableDM(msg.To != "", err)
}

// FindPosted looks through the channel's recent history for a reminder the bot posted with key.
func (s reminderSlack) FindPosted(ctx context.Context, channel, key string, since time.Time) (string, bool, error) {
	b := s.b
	oldest := fmt.Sprintf("%d.000000", since.Unix())
	params := &slack.GetConversationHistoryParameters{ChannelID: channel, Oldest: oldest, Limit: 200, IncludeAllMetadata: true}
	for page := 0; page < 10; page++ {
		var resp *slack.GetConversationHistoryResponse
		err := b.call(ctx, "conversations.history", true, func(ctx context.Context) error {
			var err error
			resp, err = b.client.GetConversationHistoryContext(ctx, params)
			return err
		})
		if err != nil {
			return "", false, err
		}
		for _, m := range resp.Messages {
			if m.Metadata.EventType == reminderEvent && m.Metadata.EventPayload["key"] == key {
				return m.Timestamp, true, nil
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	return "", false, nil
}

// OpenDM opens the DM with user (conversations.open).
func (s reminderSlack) OpenDM(ctx context.Context, user string) (string, error) {
	var im string
	err := s.b.call(bulk(ctx), "conversations.open", true, func(ctx context.Context) error {
		ch, _, _, err := s.b.client.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		if err == nil {
			im = ch.ID
		}
		return err
	})
	return im, undeliverableDM(true, err)
}

// Permalink is a message's link (chat.getPermalink).
func (s reminderSlack) Permalink(ctx context.Context, channel, ts string) (string, error) {
	var link string
	err := s.b.call(ctx, "chat.getPermalink", true, func(ctx context.Context) error {
		var err error
		link, err = s.b.client.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
		return err
	})
	return link, err
}

func (s reminderSlack) IsPublic(ctx context.Context, channel string) (bool, error) {
	return s.b.isPublic(ctx, channel)
}

func (s reminderSlack) Members(ctx context.Context, channel string) (map[string]bool, error) {
	return s.b.channelMembers(bulk(ctx), channel)
}

// Users is the workspace's directory from users.list, 1,000 people a page: one Tier 2 call per
// thousand people gives every recipient's zone and who is a bot or deactivated, where users.info
// (Tier 4, about 100 a minute) would take one call each. It is read once per run, so a changed
// time zone counts from the next run.
func (s reminderSlack) Users(ctx context.Context) (map[string]remind.User, error) {
	out := map[string]remind.User{}
	p := s.b.client.GetUsersPaginated(slack.GetUsersOptionLimit(1000))
	for page := 0; page < 1000; page++ {
		err := s.b.call(bulk(ctx), "users.list", true, func(ctx context.Context) error {
			var err error
			p, err = p.Next(ctx)
			return err
		})
		if p.Done(unwrapAll(err)) {
			break
		}
		if err != nil {
			return nil, err
		}
		for _, u := range p.Users {
			out[u.ID] = remind.User{ID: u.ID, TZ: u.TZ, IsBot: u.IsBot || u.ID == "USLACKBOT", Deleted: u.Deleted}
		}
	}
	return out, nil
}

// unwrapAll is the innermost error err wraps (pagination's end is a sentinel slack-go compares by
// identity).
func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// ClosePoll closes a poll as /internship close does: the poll stops counting, and its message is
// brought to its final counts by the updater of the connection under way (or by the next
// connection's reconcile).
func (s reminderSlack) ClosePoll(ctx context.Context, id int64) (internbot.Poll, error) {
	return s.b.closePoll(ctx, id)
}

// undeliverableDM marks an error for a DM that no retry can deliver (see undeliverable) as a
// *remind.UndeliverableError, so the engine records the DM as failed for good.
func undeliverableDM(dm bool, err error) error {
	if err == nil || !dm || !undeliverable(err) {
		return err
	}
	return &remind.UndeliverableError{Reason: slackReason(err), Err: err}
}

// reminderMetrics counts the engine's work in the bot's metrics.
type reminderMetrics struct{ m *Metrics }

func (r reminderMetrics) ReminderPosted()    { r.m.reminderPosted() }
func (r reminderMetrics) DMSent()            { r.m.dmSent() }
func (r reminderMetrics) Failed(what string) { r.m.handlerError(what) }
func (r reminderMetrics) Panicked()          { r.m.panicked() }

func daysLeft(n int) string {
	switch n {
	case 0:
		return "today"
	case 1:
		return "1 day left"
	default:
		return fmt.Sprintf("%d days left", n)
	}
}

func longDate(d config.Date) string { return d.In(time.UTC).Format("Mon, Jan 2, 2006") }

// dateToken is the deadline's date as Slack's date token, which each reader sees in their own zone,
// with the date in the configured zone as its plain-text fallback.
func dateToken(msg remind.Message) string {
	fallback := longDate(msg.Date)
	if msg.At.IsZero() {
		return fallback
	}
	return fmt.Sprintf("<!date^%d^{date_long}|%s>", msg.At.Unix(), fallback)
}

// renderReminder is a reminder's text and blocks: the channel's, or the DM to msg.To.
func renderReminder(msg remind.Message) (string, []slack.Block) {
	if msg.To != "" {
		text := renderDM(msg)
		return text, mrkdwnSections(text)
	}
	if msg.Closing {
		text := fmt.Sprintf(":lock: The “applying?” poll closed at the end of *%s*'s day (%s). Final counts: %s",
			escape(msg.Deadline), dateToken(msg), countsLine(msg.Poll.Options, msg.Counts))
		if msg.Link != "" {
			text += " · <" + msg.Link + "|see the poll>"
		}
		return text, mrkdwnSections(text)
	}
	head := fmt.Sprintf(":alarm_clock: *%s* is %s — %s", escape(msg.Deadline), dateToken(msg), daysLeft(msg.DaysLeft))
	if msg.DaysLeft == 0 {
		head = fmt.Sprintf(":alarm_clock: *%s* is *today* (%s)", escape(msg.Deadline), dateToken(msg))
	}
	var lines []string
	switch poll := msg.Poll; {
	case poll == nil:
		// The same whether there is no poll or only ones this channel may not see.
		lines = append(lines, "There is no “applying?” poll in this channel: an admin can post one here with `/internship poll`.")
	case !poll.ClosedAt.IsZero():
		// Reactions on a closed poll are ignored: no invitation to answer.
		status := "The “applying?” poll is closed. Final counts: " + countsLine(poll.Options, msg.Counts)
		if msg.Link != "" {
			status += " · <" + msg.Link + "|see the poll>"
		}
		lines = append(lines, status)
	default:
		status := "Applying? " + countsFor(*poll, msg.Counts)
		if msg.Link != "" {
			status += " · <" + msg.Link + "|see the poll>"
		}
		how := "Answer with the poll's buttons or by reacting: " + legend(poll.Options)
		if poll.ButtonsOnly() {
			how = "Answer with the poll's buttons."
		}
		lines = append(lines, status, how)
	}
	text := head + "\n" + strings.Join(lines, "\n")
	return text, []slack.Block{mrkdwnSection(head), contextBlock(strings.Join(lines, "\n"))}
}

func renderDM(msg remind.Message) string {
	when := "is in " + strings.TrimSuffix(daysLeft(msg.DaysLeft), " left")
	if msg.DaysLeft == 0 {
		when = "is today"
	}
	text := fmt.Sprintf(":alarm_clock: Reminder: *%s* %s (%s).", escape(msg.Deadline), when, dateToken(msg))
	if msg.Nudge && msg.Poll != nil {
		how := "answer by reacting to it with " + legend(msg.Poll.Options)
		if msg.Poll.ButtonsOnly() {
			// A reaction there would show the person's answer to everyone, and the bot counts none.
			how = "answer with its buttons"
		}
		text += fmt.Sprintf(" You have not answered the “applying?” poll in <#%s> yet: %s", msg.Poll.Channel, how)
		if msg.Link != "" {
			text += " (<" + msg.Link + "|open the poll>)"
		}
		return text + ". Turn these DMs off with `/internship remind off`."
	}
	switch {
	case msg.Answer == "" || msg.Poll == nil:
	case !msg.Poll.ClosedAt.IsZero():
		text += fmt.Sprintf(" You answered *%s* on the poll, which is closed", escape(msg.Answer))
		if msg.Counts != nil {
			text += ". Final counts: " + countsLine(msg.Poll.Options, msg.Counts)
		}
		if msg.Link != "" {
			text += " (<" + msg.Link + "|see the poll>)"
		}
		text += "."
	default:
		text += fmt.Sprintf(" You answered *%s* on the poll", escape(msg.Answer))
		if msg.Link != "" {
			text += " (<" + msg.Link + "|change it>)"
		}
		text += "."
	}
	return text + " Turn these DMs off with `/internship remind off`."
}
