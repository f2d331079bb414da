package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/internbot/internbot"
	"github.com/slack-go/slack"
)

// Who is applying where is sensitive: nothing about a poll (its counts, who answered, its link, its
// channel) reaches anyone who cannot see the poll's channel. Outside its own channel, a command shows
// a poll only to members of the poll's channel, and the channel reminder shows only its own channel's
// poll or one in a public channel. When the bot cannot tell (it was removed from the channel, a scope
// is missing), it shows nothing.

// commandPoll is the poll a command run by user in channel is about: the channel's own, else the
// newest poll in a channel user is a member of. internbot.ErrNotFound if there is none.
func (b *Bot) commandPoll(ctx context.Context, user, channel string) (internbot.Poll, error) {
	p, err := b.store.CurrentPoll(ctx, channel)
	if !errors.Is(err, internbot.ErrNotFound) {
		return p, err
	}
	return b.newestPollWhere(ctx, func(ch string) (bool, error) {
		members, err := b.channelMembers(ctx, ch)
		return members[user], err
	})
}

// channelReminderPoll is the poll a reminder in the reminders channel shows: that channel's own, else
// the newest poll in a public channel. internbot.ErrNotFound if there is none.
func (b *Bot) channelReminderPoll(ctx context.Context) (internbot.Poll, error) {
	p, err := b.store.CurrentPoll(ctx, b.cfg.Channel)
	if !errors.Is(err, internbot.ErrNotFound) {
		return p, err
	}
	return b.newestPollWhere(ctx, func(ch string) (bool, error) { return b.isPublic(ctx, ch) })
}

// newestPollWhere is the current poll of the channel with the newest poll among the channels ok
// accepts; ok is asked once per channel.
func (b *Bot) newestPollWhere(ctx context.Context, ok func(channel string) (bool, error)) (internbot.Poll, error) {
	polls, err := b.store.Polls(ctx)
	if err != nil {
		return internbot.Poll{}, err
	}
	asked := make(map[string]bool)
	for i := len(polls) - 1; i >= 0; i-- { // newest first: a channel's first is its current poll
		p := polls[i]
		if asked[p.Channel] {
			continue
		}
		asked[p.Channel] = true
		yes, err := ok(p.Channel)
		if err != nil {
			return internbot.Poll{}, err
		}
		if yes {
			return p, nil
		}
	}
	return internbot.Poll{}, internbot.ErrNotFound
}

// channelMembers is everyone in channel (conversations.members). A channel the bot cannot see any
// more (channel_not_found, or any other refusal such as missing_scope) has no members it can vouch
// for: the answer is empty, not an error. Failures worth retrying are errors.
func (b *Bot) channelMembers(ctx context.Context, channel string) (map[string]bool, error) {
	members := make(map[string]bool)
	params := &slack.GetUsersInConversationParameters{ChannelID: channel, Limit: 200}
	for {
		var page []string
		var next string
		err := b.call(ctx, "conversations.members", true, func(ctx context.Context) error {
			var err error
			page, next, err = b.client.GetUsersInConversationContext(ctx, params)
			return err
		})
		if code := slackErrorCode(err); code != "" {
			b.log.Warn("cannot list the poll channel's members: its poll is shown to nobody outside it", "channel", channel, "err", err)
			return map[string]bool{}, nil
		} else if err != nil {
			return nil, fmt.Errorf("members of %s: %w", channel, err)
		}
		for _, u := range page {
			members[u] = true
		}
		if next == "" {
			return members, nil
		}
		params.Cursor = next
	}
}

// isPublic says whether channel is a public channel (conversations.info); one the bot cannot look up
// counts as not public.
func (b *Bot) isPublic(ctx context.Context, channel string) (bool, error) {
	var info *slack.Channel
	err := b.call(ctx, "conversations.info", true, func(ctx context.Context) error {
		var err error
		info, err = b.client.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
		return err
	})
	if code := slackErrorCode(err); code != "" {
		b.log.Warn("cannot tell whether the poll's channel is public: its poll is not shown in reminders", "channel", channel, "err", err)
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("info of %s: %w", channel, err)
	}
	return !info.IsPrivate && !info.IsIM && !info.IsMpIM, nil
}

// onlyMembers keeps the users who are members of channel.
func (b *Bot) onlyMembers(ctx context.Context, channel string, users []string) ([]string, error) {
	if len(users) == 0 {
		return nil, nil
	}
	members, err := b.channelMembers(ctx, channel)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range users {
		if members[u] {
			out = append(out, u)
		}
	}
	return out, nil
}
