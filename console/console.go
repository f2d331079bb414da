// Package console is `internbot console`: the real bot, connected over Socket Mode to the Slack
// emulator (package slackemu), driven from a prompt. It lets someone try every command with no Slack
// workspace, and prints what the bot posts as readable text.
package console

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

// Options configures a console session.
type Options struct {
	Config *config.Config
	DBPath string // "" = a new database in a temporary directory
	In     io.Reader
	Out    io.Writer
	Logger *slog.Logger
}

// The emulated workspace: one channel, three people. alice is a workspace admin.
const channelID, channelName = "C0INTERN", "internship"

var people = []slackemu.User{
	{ID: "U0ALICE", Name: "alice", RealName: "Alice Admin", IsAdmin: true},
	{ID: "U0BOB", Name: "bob", RealName: "Bob Builder"},
	{ID: "U0CAROL", Name: "carol", RealName: "Carol Candidate"},
}

type session struct {
	emu   *slackemu.Server
	out   io.Writer
	mu    sync.Mutex // serialises writes to out
	db    *storage.DB
	bot   *bot.Bot
	cfg   *config.Config
	clock *clock
	user  slackemu.User
}

// clock is the console's time: the real clock plus an offset that `clock` moves, shared by the
// emulator, the bot and the database.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.offset = time.Until(t)
	c.mu.Unlock()
}

// Run starts the emulator and the bot, reads commands until "quit", end of input or ctx is done.
func Run(ctx context.Context, opts Options) error {
	cfg := *opts.Config
	if cfg.Channel == "" {
		cfg.Channel = channelID
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	clk := &clock{}
	dbPath := opts.DBPath
	if dbPath == "" {
		dir, err := os.MkdirTemp("", "internbot-console-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "console.db")
	}
	db, err := storage.Open(ctx, dbPath, storage.WithLogger(logger), storage.WithNow(clk.Now))
	if err != nil {
		return err
	}
	defer db.Close()

	emu := slackemu.New(slackemu.Options{Logger: logger, Now: clk.Now})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	defer emu.Close()
	members := []string{emu.BotUserID()}
	for _, p := range people {
		emu.AddUser(p)
		members = append(members, p.ID)
	}
	emu.AddUser(slackemu.User{ID: emu.BotUserID(), Name: "internbot", IsBot: true})
	emu.AddChannel(slackemu.Channel{ID: channelID, Name: channelName, Members: members})

	clock := bot.NewSlackClock()
	client := slack.New(emu.BotToken(), slack.OptionAPIURL(emu.APIURL()), slack.OptionAppLevelToken(emu.AppToken()),
		slack.OptionHTTPClient(clock.HTTPClient(nil)))
	b, err := bot.New(bot.Options{Config: &cfg, Store: db, Client: client, SlackClock: clock, Logger: logger, Now: clk.Now,
		UpdateInterval: 200 * time.Millisecond, DMInterval: 50 * time.Millisecond})
	if err != nil {
		return err
	}
	botCtx, stopBot := context.WithCancel(ctx)
	var botErr error // set before botDone closes
	botDone := make(chan struct{})
	go func() {
		botErr = b.Run(botCtx)
		close(botDone)
	}()
	defer func() {
		stopBot()
		<-botDone
	}()
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = emu.WaitConnected(waitCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("the bot did not connect to the emulator: %w", err)
	}

	s := &session{emu: emu, db: db, bot: b, cfg: &cfg, clock: clk, out: opts.Out, user: people[0]}
	msgs, unsubscribe := emu.Subscribe()
	defer unsubscribe()
	var printer sync.WaitGroup
	printer.Go(func() {
		for m := range msgs {
			s.show(m)
		}
	})
	defer printer.Wait()
	defer unsubscribe()

	s.printf("internbot console: the real bot on an emulated Slack, in #%s. You are @%s (a workspace admin).\n", channelName, s.user.Name)
	s.printf("Type /internship help, or help for the console's own commands.\n")
	return s.loop(ctx, opts.In, botDone, func() error { return botErr })
}

func (s *session) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, format, args...)
}

func (s *session) prompt() { s.printf("%s> ", s.user.Name) }

func (s *session) loop(ctx context.Context, in io.Reader, botDone <-chan struct{}, botErr func() error) error {
	lines := make(chan string)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
				return
			}
		}
		readErr <- sc.Err()
		close(lines)
	}()
	s.prompt()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-botDone:
			return fmt.Errorf("the bot stopped: %w", botErr())
		case line, ok := <-lines:
			if !ok {
				s.printf("\n")
				return <-readErr
			}
			quit, err := s.do(ctx, strings.TrimSpace(line))
			if err != nil {
				s.printf("! %v\n", err)
			}
			if quit {
				return nil
			}
			s.prompt()
		}
	}
}

const consoleHelp = `console commands:
  /internship ...      run the slash command as the current user, in #internship
  react :emoji:        react to the current poll as the current user (:white_check_mark:, :thinking_face:, :x:)
  unreact :emoji:      take that reaction back
  reactions            the reactions on the current poll
  clock                show the emulated time
  clock +1d | +3h      move the emulated clock forward (d, h, m)
  clock 2026-12-14T09:00  set it (in the configured time zone)
  remind               run the reminder job now, at the emulated time
  as NAME              become another person (alice is an admin; bob, carol are not)
  who                  list the people
  help                 this text
  quit                 leave
`

func (s *session) do(ctx context.Context, line string) (quit bool, err error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return false, nil
	}
	switch {
	case strings.HasPrefix(fields[0], "/"):
		cmd, text, _ := strings.Cut(line, " ")
		return false, s.slash(ctx, cmd, strings.TrimSpace(text))
	case fields[0] == "quit" || fields[0] == "exit":
		return true, nil
	case fields[0] == "help":
		s.printf("%s", consoleHelp)
	case fields[0] == "who":
		for _, p := range people {
			role := ""
			if p.IsAdmin {
				role = " (admin)"
			}
			s.printf("  @%s  %s%s\n", p.Name, p.RealName, role)
		}
	case (fields[0] == "react" || fields[0] == "unreact") && len(fields) == 2:
		return false, s.react(ctx, strings.Trim(fields[1], ":"), fields[0] == "react")
	case fields[0] == "clock":
		if len(fields) == 2 {
			t, err := parseClock(fields[1], s.clock.Now(), s.cfg.Timezone)
			if err != nil {
				return false, err
			}
			s.clock.set(t)
		}
		s.printf("  the time is %s\n", s.clock.Now().In(s.cfg.Timezone).Format("Mon Jan 2 2006 15:04 MST"))
	case fields[0] == "remind":
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.bot.RunReminders(rctx)
		cancel()
		if err != nil {
			return false, err
		}
		s.printf("  reminder job ran at %s\n", s.clock.Now().In(s.cfg.Timezone).Format("Mon Jan 2 15:04 MST"))
	case fields[0] == "reactions":
		ts := s.currentPoll(ctx)
		if ts == "" {
			return false, errNoPoll
		}
		r := s.emu.Reactions(channelID, ts)
		for _, name := range sortedNames(r) {
			users := make([]string, len(r[name]))
			for i, u := range r[name] {
				users[i] = s.names("<@" + u + ">")
			}
			s.printf("  :%s: %s\n", name, strings.Join(users, ", "))
		}
	case fields[0] == "as" && len(fields) == 2:
		name := strings.TrimPrefix(fields[1], "@")
		for _, p := range people {
			if p.Name == name {
				s.user = p
				return false, nil
			}
		}
		return false, fmt.Errorf("no one is called %q; try: who", name)
	default:
		return false, fmt.Errorf("unknown command %q; try: help", fields[0])
	}
	return false, nil
}

func (s *session) slash(ctx context.Context, cmd, text string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ack, err := s.emu.SlashCommand(ctx, s.user.ID, channelID, cmd, text)
	if err != nil {
		return err
	}
	if len(ack.Payload) == 0 || string(ack.Payload) == "null" {
		return nil // answered later on the response_url, or by a post in the channel
	}
	var m message
	if err := json.Unmarshal(ack.Payload, &m); err != nil {
		return fmt.Errorf("unreadable reply: %w", err)
	}
	s.printf("%s", s.render("internbot (only visible to you)", m.Text, m.Blocks))
	return nil
}

// currentPoll is the ts of the channel's poll message, "" if there is none.
func (s *session) currentPoll(ctx context.Context) string {
	p, err := s.db.CurrentPoll(ctx, channelID)
	if err != nil {
		return ""
	}
	return p.TS
}

func (s *session) react(ctx context.Context, name string, add bool) error {
	ts := s.currentPoll(ctx)
	if ts == "" {
		return errNoPoll
	}
	if name == "" {
		return errors.New("say which emoji, like: react white_check_mark")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var err error
	if add {
		_, err = s.emu.AddReaction(ctx, s.user.ID, channelID, ts, name)
	} else {
		_, err = s.emu.RemoveReaction(ctx, s.user.ID, channelID, ts, name)
	}
	return err
}

type message struct {
	Text   string          `json:"text"`
	Blocks json.RawMessage `json:"blocks"`
}

// show prints a message the bot posted, updated or sent, as the person at the keyboard would see it.
func (s *session) show(m slackemu.Message) {
	if m.User != s.emu.BotUserID() && m.BotID == "" && m.Via != "response_url" {
		return
	}
	if m.Via == "ack" {
		return // the reply in a slash command's ack: slash has printed it already
	}
	who := "internbot"
	where := "#" + channelName
	switch {
	case m.Via == "response_url" || m.Ephemeral:
		who += " (only visible to you)"
		where = ""
	case strings.HasPrefix(m.Channel, "D"):
		where = "DM"
	}
	if m.Via == "chat.update" {
		who += " (edited)"
	}
	head := who
	if where != "" {
		head = where + " · " + who
	}
	s.printf("\n%s", s.render(head, m.Text, m.Blocks))
}

func (s *session) render(head, text string, blocks json.RawMessage) string {
	body := Flatten(blocks)
	if body == "" {
		body = text
	}
	body = s.names(body)
	var sb strings.Builder
	sb.WriteString("┌ " + head + "\n")
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		sb.WriteString("│ " + l + "\n")
	}
	sb.WriteString("└\n")
	return sb.String()
}

var mention = regexp.MustCompile(`<([@#])([A-Z0-9]+)(\|[^>]*)?>`)

var link = regexp.MustCompile(`<(https?://[^|>]+)\|([^>]+)>`)

// names turns <@U0ALICE> into @alice, <#C0INTERN> into #internship and <URL|text> into text (URL).
func (s *session) names(text string) string {
	text = mention.ReplaceAllStringFunc(text, func(m string) string {
		sub := mention.FindStringSubmatch(m)
		if sub[1] == "#" {
			if sub[2] == channelID {
				return "#" + channelName
			}
			return "#" + sub[2]
		}
		for _, p := range people {
			if p.ID == sub[2] {
				return "@" + p.Name
			}
		}
		if sub[2] == s.emu.BotUserID() {
			return "@internbot"
		}
		return "@" + sub[2]
	})
	text = link.ReplaceAllString(text, "$2 ($1)")
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
}

// Flatten renders Block Kit JSON as plain text: headers underlined, sections as paragraphs, context
// in brackets, dividers as rules. Unknown blocks are skipped.
func Flatten(blocks json.RawMessage) string {
	if len(blocks) == 0 {
		return ""
	}
	var bs []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Fields []struct {
			Text string `json:"text"`
		} `json:"fields"`
		Elements []struct {
			Text string `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		return ""
	}
	var sb strings.Builder
	for _, b := range bs {
		switch b.Type {
		case "header":
			if b.Text != nil {
				sb.WriteString(b.Text.Text + "\n" + strings.Repeat("=", min(60, len([]rune(b.Text.Text)))) + "\n")
			}
		case "section":
			if b.Text != nil {
				sb.WriteString(b.Text.Text + "\n")
			}
			for _, f := range b.Fields {
				sb.WriteString(f.Text + "\n")
			}
		case "context":
			parts := make([]string, 0, len(b.Elements))
			for _, e := range b.Elements {
				parts = append(parts, e.Text)
			}
			sb.WriteString("(" + strings.Join(parts, " ") + ")\n")
		case "divider":
			sb.WriteString(strings.Repeat("─", 40) + "\n")
		}
	}
	return sb.String()
}

var errNoPoll = errors.New("there is no poll in #" + channelName + " yet: post one with /internship poll (as an admin)")

// sortedNames is used by the reaction listing.
func sortedNames(m map[string][]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// parseClock reads "+1d", "+3h", "+90m" (relative to now) or "2026-12-14T09:00" (in loc).
func parseClock(arg string, now time.Time, loc *time.Location) (time.Time, error) {
	if rest, ok := strings.CutPrefix(arg, "+"); ok && len(rest) > 1 {
		unit := rest[len(rest)-1]
		var n int
		if _, err := fmt.Sscanf(rest[:len(rest)-1], "%d", &n); err != nil || n <= 0 || n > 3650 {
			return time.Time{}, fmt.Errorf("clock: %q: say how far to move, like +1d, +3h or +30m", arg)
		}
		switch unit {
		case 'd':
			return now.AddDate(0, 0, n), nil
		case 'h':
			return now.Add(time.Duration(n) * time.Hour), nil
		case 'm':
			return now.Add(time.Duration(n) * time.Minute), nil
		}
		return time.Time{}, fmt.Errorf("clock: %q: the unit is d, h or m", arg)
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", arg, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("clock: %q is neither +1d/+3h/+30m nor a time like 2026-12-14T09:00", arg)
	}
	return t, nil
}
