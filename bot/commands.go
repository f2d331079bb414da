package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/internbot/internbot/posting"
)

// maxCommandText bounds how much of a slash command's text is looked at; Slack allows about 4,000
// characters, and nothing the bot answers needs more than a sentence.
const maxCommandText = 2000

// maxAckPayload keeps the reply inside the ack under slack-go's 20 KB Socket Mode limit; a larger
// reply goes to the response_url instead.
const maxAckPayload = 19 * 1024

// command is one /internship subcommand. The table drives both dispatch and the help text, so help
// can never list a command that does not exist or miss one that does.
type command struct {
	name    string
	usage   string // arguments, as shown in help
	summary string
	admin   bool
	// static: the reply depends only on the posting and the command's text (see answer).
	static bool
	run    func(b *run, ctx context.Context, r *request) (*reply, error)
}

func commandTable() []command {
	return []command{
		{name: "details", summary: "the whole posting: role, pay, location, requirements…", static: true, run: (*run).cmdDetails},
		{name: "help", summary: "this list", static: true, run: (*run).cmdHelp},
		{name: "me", summary: "your own answer to the poll", run: (*run).cmdMe},
		{name: "results", summary: "how people answered the poll in this channel", run: (*run).cmdResults},
		{name: "forget", summary: "delete everything stored about you", run: (*run).cmdForget},
		{name: "deadlines", summary: "upcoming deadlines and the days left", run: (*run).cmdDeadlines},
		{name: "remind", usage: "on|off", summary: "turn your reminder DMs on or off", run: (*run).cmdRemind},
		{name: "poll", summary: "post the “applying?” poll in this channel", admin: true, run: (*run).cmdPoll},
		{name: "close", summary: "close this channel's poll and show its final counts", admin: true, run: (*run).cmdClose},
		{name: "export", summary: "the poll's answers as a CSV, in your DM with me", admin: true, run: (*run).cmdExport},
		{name: "nudge", summary: "DM the people in the poll's channel who have not answered (once a day)", admin: true, run: (*run).cmdNudge},
		{name: "deadline", usage: "add YYYY-MM-DD NAME… | remove NAME…", summary: "add or remove a deadline", admin: true, run: (*run).cmdDeadline},
	}
}

func (b *Bot) lookupCommand(name string) (command, bool) {
	for _, c := range b.commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// request is one slash command invocation.
type request struct {
	user    string
	channel string
	command string // "/internship"
	text    string // cleaned text after the command
	args    []string
	// triggerID opens a modal (views.open) within 3 s of the command.
	triggerID string
}

// reply is what the bot answers a slash command with, shaped as Slack's message payload for an ack
// or a response_url.
type reply struct {
	ResponseType string        `json:"response_type,omitempty"`
	Text         string        `json:"text"`
	Blocks       []slack.Block `json:"blocks,omitempty"`
}

func textReply(format string, args ...any) *reply {
	text := fmt.Sprintf(format, args...)
	return &reply{ResponseType: slack.ResponseTypeEphemeral, Text: text, Blocks: mrkdwnSections(text)}
}

func (b *run) onSlashCommand(ctx context.Context, evt socketmode.Event, received time.Time) {
	sc, ok := evt.Data.(slack.SlashCommand)
	if !ok {
		b.ack(evt.Request, nil, received)
		return
	}
	b.goWork("slash_command", evt.Request, received, func() { b.runCommand(ctx, evt.Request, received, sc) })
}

// runCommand answers in the ack when it can. Work that outlasts commandTimeout (a Web API call slowed
// by rate limits, say) is acked empty first, inside Slack's 3 seconds, and answered on the
// response_url when done.
func (b *run) runCommand(ctx context.Context, req *socketmode.Request, received time.Time, sc slack.SlashCommand) {
	var acked atomic.Bool
	timer := time.AfterFunc(b.commandTimeout, func() {
		if acked.CompareAndSwap(false, true) {
			b.ack(req, nil, received)
		}
	})
	r, static := b.answer(ctx, sc)
	timer.Stop()
	if r.Text == "" && len(r.Blocks) == 0 {
		// Nothing to say (a modal opened instead).
		if acked.CompareAndSwap(false, true) {
			b.ack(req, nil, received)
		}
		return
	}
	if r.ResponseType == "" {
		r.ResponseType = slack.ResponseTypeEphemeral
	}
	if js, err := json.Marshal(r); err == nil && len(js) < maxAckPayload {
		if static {
			b.replies.put(sc.Command, sc.Text, js)
		}
		if acked.CompareAndSwap(false, true) {
			b.ack(req, json.RawMessage(js), received)
			return
		}
	}
	if acked.CompareAndSwap(false, true) {
		b.ack(req, nil, received)
	}
	b.respond(ctx, sc.ResponseURL, r)
}

func (b *Bot) respond(ctx context.Context, url string, r *reply) {
	if url == "" {
		return
	}
	msg := &slack.WebhookMessage{Text: r.Text, ResponseType: r.ResponseType}
	if len(r.Blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: r.Blocks}
	}
	err := b.call(ctx, "response_url", false, func(ctx context.Context) error {
		return postResponse(ctx, url, msg)
	})
	if err != nil {
		b.metrics.handlerError("response_url")
		b.log.Warn("could not answer on the response_url", "err", err)
	}
}

// execute parses and runs one slash command. Errors become a short apology to the user and a log
// line with the cause; they never escape.
func (b *run) execute(ctx context.Context, sc slack.SlashCommand) *reply {
	r, _ := b.answer(ctx, sc)
	return r
}

// answer is execute; static reports a reply that depends only on the posting and the command's
// name and text (help, details, an answer from the posting), which replyCache may keep.
func (b *run) answer(ctx context.Context, sc slack.SlashCommand) (_ *reply, static bool) {
	text := cleanText(sc.Text)
	r := &request{user: sc.UserID, channel: sc.ChannelID, command: sc.Command, text: text, args: strings.Fields(text), triggerID: sc.TriggerID}
	if r.command == "" {
		r.command = "/internship"
	}
	if len(r.args) == 0 {
		return b.helpReply(r), true
	}
	c, ok := b.lookupCommand(strings.ToLower(r.args[0]))
	if !ok {
		if posting.AsksWhen(r.text) {
			return b.answerWhen(ctx, r), false
		}
		return b.answerQuestion(r), true
	}
	r.args = r.args[1:]
	if c.admin {
		admin, err := b.isAdmin(ctx, r.user)
		if err != nil {
			b.metrics.handlerError("admin_check")
			b.log.Warn("admin check failed", "user", r.user, "err", err)
			return textReply("Sorry, I couldn't check whether you are an admin just now. Please try again in a minute."), false
		}
		if !admin {
			return textReply("Sorry, `%s %s` is for admins. Ask one of them, or see `%s help` for what you can do.", r.command, c.name, r.command), false
		}
	}
	out, err := c.run(b, ctx, r)
	if err != nil {
		b.metrics.handlerError("command_" + c.name)
		b.log.Error("command failed", "command", c.name, "user", r.user, "err", err)
		if errors.Is(err, context.Canceled) {
			return textReply("Sorry, I'm restarting. Please try again in a minute."), false
		}
		return textReply("Sorry, something went wrong with `%s %s`. Please try again; if it keeps failing, tell an admin.", r.command, c.name), false
	}
	return out, c.static
}

// replyCache keeps the encoded ack payloads of static replies (see answer) by the command's name
// and raw text, so that the event loop answers a repeated one (everyone asking for the details)
// without a goroutine, rendering or encoding/json. It is bounded: once full it keeps what it has.
type replyCache struct {
	mu sync.RWMutex
	m  map[replyKey][]byte
}

type replyKey struct{ command, text string }

// Bounds of replyCache: how many replies, and the longest text kept (a keyword or a short question).
const (
	maxCachedReplies   = 256
	maxCachedReplyText = 100
)

func (c *replyCache) get(command, text string) ([]byte, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.m[replyKey{command, text}]
	return p, ok
}

// put keeps payload, json.Marshal's encoding of the reply to command and text.
func (c *replyCache) put(command, text string, payload []byte) {
	if len(text) > maxCachedReplyText {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[replyKey][]byte)
	}
	if len(c.m) < maxCachedReplies {
		c.m[replyKey{strings.Clone(command), strings.Clone(text)}] = payload
	}
}

// cleanText makes a user's text safe to match and to echo: control characters become spaces and
// the length is bounded.
func cleanText(s string) string {
	if len(s) > maxCommandText {
		s = truncate(s, maxCommandText)
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s))
}

func (b *Bot) cmdHelp(_ context.Context, r *request) (*reply, error) { return b.helpReply(r), nil }

func (b *Bot) helpReply(r *request) *reply {
	var sb strings.Builder
	fmt.Fprintf(&sb, "*%s* answers questions about the internship posting.\n", r.command)
	for _, c := range b.commands {
		line := "`" + r.command + " " + c.name
		if c.usage != "" {
			line += " " + c.usage
		}
		line += "` — " + c.summary
		if c.admin {
			line += " _(admins)_"
		}
		sb.WriteString("• " + line + "\n")
	}
	keys := make([]string, 0, len(b.cfg.Posting.Sections))
	for _, s := range b.cfg.Posting.Sections {
		keys = append(keys, "`"+s.Key+"`")
	}
	fmt.Fprintf(&sb, "Or ask about one part: %s — or a question, like `%s where is it?`", strings.Join(keys, ", "), r.command)
	text := sb.String()
	return &reply{ResponseType: slack.ResponseTypeEphemeral, Text: text, Blocks: mrkdwnSections(text)}
}

func (b *Bot) cmdDetails(_ context.Context, _ *request) (*reply, error) {
	text, blocks := renderPosting(b.cfg.Posting)
	return &reply{ResponseType: slack.ResponseTypeEphemeral, Text: text, Blocks: blocks}, nil
}

// answerQuestion answers a section keyword or a free-text question with the best-matching sections.
func (b *Bot) answerQuestion(r *request) *reply {
	matches := b.cfg.Posting.Search(r.text)
	if len(matches) == 0 {
		var sb strings.Builder
		fmt.Fprintf(&sb, "I couldn't find “%s” in the posting.", escape(truncate(r.text, 80)))
		if s := b.cfg.Posting.Suggest(r.text); len(s) > 0 {
			for i := range s {
				s[i] = "`" + r.command + " " + s[i] + "`"
			}
			fmt.Fprintf(&sb, " Did you mean %s?", strings.Join(s, " or "))
		}
		fmt.Fprintf(&sb, " Try `%s details` for everything, or `%s help`.", r.command, r.command)
		return textReply("%s", sb.String())
	}
	text, blocks := renderMatches(matches, r.command)
	return &reply{ResponseType: slack.ResponseTypeEphemeral, Text: text, Blocks: blocks}
}

// answerWhen answers a question about dates ("what is the deadline?"): the upcoming deadlines, the
// command that lists them, and the parts of the posting that give dates.
func (b *Bot) answerWhen(ctx context.Context, r *request) *reply {
	out, err := b.cmdDeadlines(ctx, r)
	if err != nil {
		b.metrics.handlerError("command_deadlines")
		b.log.Error("deadlines for a date question", "user", r.user, "err", err)
		out = textReply("Sorry, I couldn't read the deadlines just now.")
	}
	text := out.Text + fmt.Sprintf("\n`%s deadlines` lists them any time.", r.command)
	blocks := mrkdwnSections(text)
	for _, s := range b.cfg.Posting.Dated() {
		text += "\n" + plainSection(s)
		blocks = append(blocks, sectionBlocks(s)...)
	}
	return &reply{ResponseType: slack.ResponseTypeEphemeral, Text: text, Blocks: capBlocks(blocks)}
}
