package bot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot"
)

// Who is applying where is sensitive: nothing about a poll (its counts, who answered, its link, its
// channel) reaches anyone who cannot see the poll's channel. Outside its own channel, a command shows
// a poll only to members of the poll's channel; package remind keeps the same rule for reminders,
// asking isPublic and channelMembers through reminderSlack. When the bot cannot tell (it was removed
// from the channel, a scope is missing), it shows nothing.

// commandPoll is the poll a command run by user in channel is about: the channel's own, else the
// newest poll in a channel user is a member of. internbot.ErrNotFound if there is none.
func (b *Bot) commandPoll(ctx context.Context, user, channel string) (internbot.Poll, error) {
	p, err := b.store.CurrentPoll(ctx, channel)
	if !errors.Is(err, internbot.ErrNotFound) {
		return p, err
	}
	polls, err := b.store.Polls(ctx)
	if err != nil {
		return internbot.Poll{}, err
	}
	return internbot.NewestWhere(polls, func(ch string) (bool, error) {
		members, err := b.channelMembers(ctx, ch)
		return members[user], err
	})
}

// errNotMember: the person is not in the poll's channel, so it is none of their business.
var errNotMember = errors.New("not a member of the poll's channel")

// valuePoll is the poll a button's value names ("<id>" or "<id>/<option>"), for user. A value comes
// from the person's client: a stale Home (they have left the channel since) or a forged payload can
// name any poll, so it resolves only for a member of the poll's channel (errNotMember otherwise).
// Use it wherever a poll comes from a payload value rather than from the message the button is on.
func (b *run) valuePoll(ctx context.Context, user, value string) (internbot.Poll, int, error) {
	idText, optText, _ := strings.Cut(value, "/")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return internbot.Poll{}, 0, fmt.Errorf("button value %q: %w", truncate(value, 40), internbot.ErrInvalid)
	}
	opt := -1
	if optText != "" {
		if opt, err = strconv.Atoi(optText); err != nil {
			return internbot.Poll{}, 0, fmt.Errorf("button value %q: %w", truncate(value, 40), internbot.ErrInvalid)
		}
	}
	p, ok := b.polls.byID(id)
	if !ok {
		polls, err := b.store.Polls(ctx)
		if err != nil {
			return internbot.Poll{}, 0, err
		}
		for _, q := range polls {
			if q.ID == id {
				p, ok = q, true
			}
		}
	}
	if !ok {
		return internbot.Poll{}, 0, fmt.Errorf("poll %d: %w", id, internbot.ErrNotFound)
	}
	members, err := b.channelMembers(ctx, p.Channel)
	if err != nil {
		return internbot.Poll{}, 0, err
	}
	if !members[user] {
		return internbot.Poll{}, 0, fmt.Errorf("poll %d: %w", id, errNotMember)
	}
	return p, opt, nil
}

// notMemberText refuses a button on a poll of a channel the person is not in, without naming it.
const notMemberText = "That poll is in a channel you're not in, so I can't do that for you."

// memberTTL is how long a channel's member list is trusted. member_joined_channel and
// member_left_channel drop it sooner; the TTL bounds how stale it gets if one of those is lost.
const memberTTL = 30 * time.Second

// memberCache remembers each channel's members, so that rendering every Home, results, me and the
// reminders' recipients cost one conversations.members (a few pages) per channel per memberTTL
// instead of one per Home per channel (Tier 4: about 100 calls a minute for the whole workspace).
type memberCache struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]memberEntry
}

type memberEntry struct {
	members map[string]bool
	at      time.Time
}

func newMemberCache(now func() time.Time) *memberCache {
	return &memberCache{now: now, entries: make(map[string]memberEntry)}
}

func (c *memberCache) get(channel string) (map[string]bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[channel]
	if !ok || c.now().Sub(e.at) > memberTTL || c.now().Before(e.at) {
		return nil, false
	}
	return maps.Clone(e.members), true
}

func (c *memberCache) put(channel string, members map[string]bool) {
	c.mu.Lock()
	c.entries[channel] = memberEntry{members: maps.Clone(members), at: c.now()}
	c.mu.Unlock()
}

// forget drops channel's members (someone joined or left it).
func (c *memberCache) forget(channel string) {
	c.mu.Lock()
	delete(c.entries, channel)
	c.mu.Unlock()
}

// channelMembers is everyone in channel (conversations.members), from the cache when it is fresh. A
// channel the bot cannot see any more (channel_not_found, or any other refusal such as missing_scope)
// has no members it can vouch for: the answer is empty, not an error. Failures worth retrying are
// errors, and not cached.
func (b *Bot) channelMembers(ctx context.Context, channel string) (map[string]bool, error) {
	if m, ok := b.members.get(channel); ok {
		return m, nil
	}
	members, err := b.listMembers(ctx, channel)
	if err == nil {
		b.members.put(channel, members)
	}
	return members, err
}

func (b *Bot) listMembers(ctx context.Context, channel string) (map[string]bool, error) {
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

// botInChannel says whether the bot is a member of channel: conversations.info's is_member, one call
// whatever the channel's size. A channel the bot cannot look up (a private one it is not in is
// channel_not_found) counts as not.
func (b *Bot) botInChannel(ctx context.Context, channel string) (bool, error) {
	var info *slack.Channel
	err := b.call(ctx, "conversations.info", true, func(ctx context.Context) error {
		var err error
		info, err = b.client.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
		return err
	})
	if slackErrorCode(err) != "" {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("info of %s: %w", channel, err)
	}
	return info.IsMember, nil
}
