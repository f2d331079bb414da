package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/internbot/internbot"
	"github.com/slack-go/slack"
)

func (b *Bot) pollOptions() []internbot.PollOption {
	opts := make([]internbot.PollOption, len(b.cfg.Poll.Options))
	for i, o := range b.cfg.Poll.Options {
		opts[i] = internbot.PollOption{Reaction: o.Reaction, Answer: o.Answer}
	}
	return opts
}

// cmdPoll posts the poll as an ordinary message, stores it as the channel's current poll and adds
// one reaction per option with the bot's own token, so answering is one click and no person appears
// to have voted.
func (b *run) cmdPoll(ctx context.Context, r *request) (*reply, error) {
	// A channel has one current poll: storing the new one closes the channel's open ones, in the same
	// transaction (ReplacePoll).
	p := internbot.Poll{Channel: r.channel, Question: b.cfg.Poll.Question, Options: b.pollOptions(), CreatedBy: r.user,
		Anonymous: b.cfg.Poll.Anonymous, HideResults: b.cfg.Poll.HideResults}
	text, blocks := renderPoll(p, nil)
	var channel, ts string
	err := b.call(ctx, "chat.postMessage", false, func(ctx context.Context) error {
		var err error
		channel, ts, err = b.client.PostMessageContext(ctx, r.channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
	switch code := slackErrorCode(err); {
	case code == "not_in_channel" || code == "channel_not_found":
		return textReply("I'm not in this channel, so I can't post the poll here. Invite me with `/invite @%s` and try again.", b.botName), nil
	case err != nil:
		return nil, err
	}
	p.Channel, p.TS = channel, ts
	p, closed, err := b.store.ReplacePoll(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("store poll: %w", err)
	}
	b.polls.put(p)
	b.updates.showing(p.ID, pollContent(text, blocks))
	// The previous poll stops counting and shows its final counts.
	for _, c := range closed {
		b.polls.put(c)
		b.updates.mark(c.ID)
	}
	if p.ButtonsOnly() {
		b.log.Info("poll posted", "channel", p.Channel, "ts", p.TS, "by", r.user, "anonymous", p.Anonymous, "hide_results", p.HideResults)
		return textReply("Posted the poll. People answer with its buttons; `%s results` shows the counts%s.", r.command,
			map[bool]string{true: " once it closes", false: ""}[p.HideResults]), nil
	}
	for _, o := range p.Options {
		err := b.call(ctx, "reactions.add", true, func(ctx context.Context) error {
			return b.client.AddReactionContext(ctx, o.Reaction, slack.NewRefToMessage(p.Channel, p.TS))
		})
		if err != nil && slackErrorCode(err) != "already_reacted" {
			b.log.Warn("could not add the poll's option reaction", "reaction", o.Reaction, "err", err)
		}
	}
	// Reactions that came before the poll was stored were not counted: read them back once.
	if err := b.reconcilePoll(ctx, p); err != nil {
		b.log.Warn("could not read the new poll's reactions back", "err", err)
	}
	b.log.Info("poll posted", "channel", p.Channel, "ts", p.TS, "by", r.user)
	return textReply("Posted the poll. People answer with its buttons or by reacting to it; `%s results` shows the counts.", r.command), nil
}

// noPollReply is the same whether there is no poll at all or only polls in channels the person is not
// in: it gives nothing away about those.
func (b *Bot) noPollReply(r *request) *reply {
	return textReply("There is no poll here or in any channel you are in. An admin can post one with `%s poll`.", r.command)
}

func (b *Bot) cmdResults(ctx context.Context, r *request) (*reply, error) {
	p, err := b.commandPoll(ctx, r.user, r.channel)
	if errors.Is(err, internbot.ErrNotFound) {
		return b.noPollReply(r), nil
	} else if err != nil {
		return nil, err
	}
	counts, err := b.store.Counts(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	state := "open"
	if !p.ClosedAt.IsZero() {
		state = "closed"
	}
	admin, err := b.isAdmin(ctx, r.user)
	if err != nil {
		b.log.Warn("admin check failed; showing counts only", "user", r.user, "err", err)
	}
	see := p.Visibility(admin)
	lines := []string{fmt.Sprintf("*%s* (<#%s>, %s)", escape(p.Question), p.Channel, state), countsFor(p, counts)}
	if p.Anonymous {
		lines = append(lines, "This poll is anonymous: nobody, admins included, can see who answered what.")
	}
	if see.Names && see.Counts {
		answers, err := b.store.Answers(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		by := make(map[string][]string)
		for _, a := range answers {
			by[a.Answer] = append(by[a.Answer], "<@"+a.User+">")
		}
		for _, o := range p.Options {
			who := "nobody"
			if len(by[o.Answer]) > 0 {
				who = strings.Join(by[o.Answer], ", ")
			}
			lines = append(lines, fmt.Sprintf("• *%s*: %s", escape(o.Answer), who))
		}
	}
	return textReply("%s", strings.Join(lines, "\n")), nil
}

func (b *Bot) cmdMe(ctx context.Context, r *request) (*reply, error) {
	p, err := b.commandPoll(ctx, r.user, r.channel)
	if errors.Is(err, internbot.ErrNotFound) {
		return b.noPollReply(r), nil
	} else if err != nil {
		return nil, err
	}
	a, err := b.store.AnswerOf(ctx, p.ID, r.user)
	answered := err == nil
	if err != nil && !errors.Is(err, internbot.ErrNotFound) {
		return nil, err
	}
	if p.ClosedAt.IsZero() {
		if !answered {
			if p.ButtonsOnly() {
				return textReply("You haven't answered the poll in <#%s> yet. Click your answer on it.", p.Channel), nil
			}
			return textReply("You haven't answered the poll in <#%s> yet. Click your answer on it, or react: %s", p.Channel, legend(p.Options)), nil
		}
		return textReply("Your answer to the poll in <#%s>: *%s* (since %s).", p.Channel, escape(a.Answer),
			a.AnsweredAt.In(b.cfg.Timezone).Format("Jan 2, 15:04 MST")), nil
	}
	// A closed poll ignores reactions: no invitation to answer, just where things ended.
	counts, err := b.store.Counts(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if !answered {
		return textReply("You didn't answer the poll in <#%s>, and it is closed. Final counts: %s", p.Channel, countsLine(p.Options, counts)), nil
	}
	return textReply("Your answer to the poll in <#%s>: *%s*. The poll is closed. Final counts: %s", p.Channel, escape(a.Answer),
		countsLine(p.Options, counts)), nil
}

func (b *run) cmdForget(ctx context.Context, r *request) (*reply, error) {
	if err := b.store.ForgetUser(ctx, r.user); err != nil {
		return nil, err
	}
	polls, err := b.store.OpenPolls(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range polls {
		b.updates.markAnswer(p.ID, r.user)
	}
	// Their Home shows their answers, closed polls' too: none of those is marked above.
	b.homes.changedFor(r.user)
	return textReply("Done: I deleted everything I stored about you (answers, reactions, reminder settings). " +
		"Reactions you left on a poll message stay in Slack; remove them too, or I will count them again the next time I check the poll."), nil
}

func (b *run) cmdClose(ctx context.Context, r *request) (*reply, error) {
	p, err := b.store.CurrentPoll(ctx, r.channel)
	if errors.Is(err, internbot.ErrNotFound) {
		return textReply("There is no poll in this channel to close."), nil
	} else if err != nil {
		return nil, err
	}
	if !p.ClosedAt.IsZero() {
		return textReply("This channel's poll is already closed."), nil
	}
	p, err = b.closePoll(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	counts, err := b.store.Counts(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return textReply("Closed the poll. Final counts: %s", countsLine(p.Options, counts)), nil
}

// closePoll closes a poll (closing a closed one is not an error) and has the updater of the newest
// connection bring its message to the final counts; without one, the next connection's reconcile
// does. /internship close and poll.close_at both close polls this way.
func (b *Bot) closePoll(ctx context.Context, id int64) (internbot.Poll, error) {
	p, err := b.store.ClosePoll(ctx, id)
	if err != nil && !errors.Is(err, internbot.ErrPollClosed) {
		return internbot.Poll{}, err
	}
	b.polls.put(p)
	if r := b.last.Load(); r != nil {
		r.updates.mark(p.ID)
	}
	return p, nil
}
