// Package console is `internbot console`: the real bot, connected over Socket Mode to the Slack
// emulator (package slackemu), driven from a prompt. It lets someone try every command with no Slack
// workspace, and prints what the bot posts as readable text. Like cmd/internbot it wires the other
// packages together; nothing but cmd/internbot may import it.
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
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/term"

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
	// LineEditing reads In through a line editor (arrow keys, history) even when it is not a
	// terminal, for tests. When In and Out are both terminals it is always on.
	LineEditing bool
	// Log receives the bot's and the emulator's log lines at LogLevel and above (nil: none). In a
	// terminal they go above the prompt instead.
	Log      io.Writer
	LogLevel slog.Level
}

// The emulated workspace: one channel, three people. alice is a workspace admin. A configuration
// changes it: its channel becomes the emulated channel's id, and its admins are added as people (and
// are then the only admins, as in Slack).
const defaultChannelID, channelName = "C0INTERN", "internship"

var defaultPeople = []slackemu.User{
	{ID: "U0ALICE", Name: "alice", RealName: "Alice Admin", IsAdmin: true},
	{ID: "U0BOB", Name: "bob", RealName: "Bob Builder"},
	{ID: "U0CAROL", Name: "carol", RealName: "Carol Candidate"},
}

// workspace is who and where the console emulates, following the configuration.
type workspace struct {
	channel string
	people  []slackemu.User
	admins  []string // the config's admins; empty: the workspace's admins (alice)
}

func newWorkspace(cfg *config.Config) workspace {
	w := workspace{channel: cfg.Channel, people: slices.Clone(defaultPeople), admins: cfg.Admins}
	if w.channel == "" {
		w.channel = defaultChannelID
	}
	for _, id := range cfg.Admins {
		if !slices.ContainsFunc(w.people, func(p slackemu.User) bool { return p.ID == id }) {
			w.people = append(w.people, slackemu.User{ID: id, Name: strings.ToLower(id), RealName: "Admin " + id + " (from the config)"})
		}
	}
	return w
}

// isAdmin is the bot's rule: the config's admins if it lists any, else the workspace's admins.
func (w workspace) isAdmin(u slackemu.User) bool {
	if len(w.admins) > 0 {
		return slices.Contains(w.admins, u.ID)
	}
	return u.IsAdmin || u.IsOwner
}

// first is who the session starts as: an admin, so that every command can be tried.
func (w workspace) first() slackemu.User {
	for _, p := range w.people {
		if w.isAdmin(p) {
			return p
		}
	}
	return w.people[0]
}

type session struct {
	workspace
	emu   *slackemu.Server
	out   io.Writer
	mu    sync.Mutex // serialises writes to out
	idle  bool       // the prompt is on screen, waiting for a line (plain mode); under mu
	term  *term.Terminal
	db    *storage.DB
	bot   *bot.Bot
	cfg   *config.Config
	clock *clock
	user  slackemu.User
	// form is the modal being filled in at the prompt, field by field (see surfaces.go); seen are the
	// modals already offered. Both belong to the loop's goroutine.
	form *form
	seen map[string]bool
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
	ws := newWorkspace(&cfg)
	cfg.Channel = ws.channel
	tio, err := openIO(opts)
	if err != nil {
		return err
	}
	defer tio.restore()
	logOut := opts.Log
	if logOut == nil {
		logOut = io.Discard
	}
	if tio.term != nil && opts.Log != nil {
		logOut = tio.term // above the prompt, with the line endings a raw terminal needs
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: opts.LogLevel}))
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
	for _, p := range ws.people {
		emu.AddUser(p)
		members = append(members, p.ID)
	}
	emu.AddUser(slackemu.User{ID: emu.BotUserID(), Name: "internbot", IsBot: true})
	emu.AddChannel(slackemu.Channel{ID: ws.channel, Name: channelName, Members: members})

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

	s := &session{workspace: ws, emu: emu, db: db, bot: b, cfg: &cfg, clock: clk, out: tio.out, term: tio.term, user: ws.first()}
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

	s.welcome(opts.Config)
	return s.loop(ctx, tio.lines, botDone, func() error { return botErr })
}

// welcome says where the session is and who the user is, and where that came from.
func (s *session) welcome(cfg *config.Config) {
	where := "#" + channelName
	if cfg.Channel != "" {
		where += fmt.Sprintf(" (%s, the config's channel: reminders go there)", s.channel)
	}
	role := "a workspace admin"
	if len(s.admins) > 0 {
		role = "an admin: the config's admins are " + s.roster(true)
	}
	if !s.isAdmin(s.user) {
		role = "not an admin"
	}
	s.printf("internbot console: the real bot on an emulated Slack, in %s. You are @%s (%s).\n", where, s.user.Name, role)
	if cfg.File != "" {
		s.printf("Following %s: its posting, poll, deadlines, channel and admins.\n", cfg.File)
	}
	s.printf("Type /internship help, or help for the console's own commands.\n")
}

// roster is "@alice, @bob": the admins, or everyone else.
func (s *session) roster(admins bool) string {
	var names []string
	for _, p := range s.people {
		if s.isAdmin(p) == admins {
			names = append(names, "@"+p.Name)
		}
	}
	if len(names) == 0 {
		return "nobody"
	}
	return strings.Join(names, ", ")
}

// consoleIO is where a session reads lines and writes its screen.
type consoleIO struct {
	lines   lineReader
	out     io.Writer
	term    *term.Terminal // nil: plain lines, no editing
	restore func()
}

type lineReader interface {
	ReadLine() (string, error)
}

// openIO picks plain lines or a line editor. A terminal is put in raw mode, for the editor to see each
// key, and restored by restore.
func openIO(opts Options) (consoleIO, error) {
	in, inTTY := opts.In.(*os.File)
	out, outTTY := opts.Out.(*os.File)
	tty := inTTY && outTTY && term.IsTerminal(int(in.Fd())) && term.IsTerminal(int(out.Fd()))
	if !tty && !opts.LineEditing {
		sc := bufio.NewScanner(opts.In)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		return consoleIO{lines: scanLines{sc}, out: opts.Out, restore: func() {}}, nil
	}
	restore := func() {}
	if tty {
		old, err := term.MakeRaw(int(in.Fd()))
		if err != nil {
			return consoleIO{}, fmt.Errorf("console: terminal: %w", err)
		}
		restore = func() { _ = term.Restore(int(in.Fd()), old) }
	}
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{opts.In, opts.Out}, "")
	if tty {
		if w, h, err := term.GetSize(int(out.Fd())); err == nil && w > 0 && h > 0 {
			_ = t.SetSize(w, h)
		}
	}
	return consoleIO{lines: editor{t}, out: t, term: t, restore: restore}, nil
}

type scanLines struct{ sc *bufio.Scanner }

func (l scanLines) ReadLine() (string, error) {
	if l.sc.Scan() {
		return l.sc.Text(), nil
	}
	if err := l.sc.Err(); err != nil {
		return "", err
	}
	return "", io.EOF
}

// editor reads through the line editor; Ctrl-C and Ctrl-D (which it reports as end of input) leave.
type editor struct{ t *term.Terminal }

func (e editor) ReadLine() (string, error) {
	line, err := e.t.ReadLine()
	if errors.Is(err, term.ErrPasteIndicator) {
		err = nil // a pasted line is a line
	}
	return line, err
}

func (s *session) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.out, format, args...)
}

// prompt shows "alice> " and marks the session as waiting for a line. The line editor draws its own
// prompt, and draws it again under anything printed while it waits.
func (s *session) prompt() {
	p := s.user.Name + "> "
	if s.form != nil {
		p = s.form.prompt()
	}
	if s.term != nil {
		s.term.SetPrompt(p)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprint(s.out, p)
	s.idle = true
}

func (s *session) busy() {
	s.mu.Lock()
	s.idle = false
	s.mu.Unlock()
}

type readLine struct {
	line string
	err  error
}

func (s *session) loop(ctx context.Context, in lineReader, botDone <-chan struct{}, botErr func() error) error {
	// The reader reads one line each time it is asked, after the prompt is up: the line editor draws
	// the prompt when it starts reading, and it must be the current user's.
	want := make(chan struct{})
	lines := make(chan readLine)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-want:
			case <-stop:
				return
			}
			line, err := in.ReadLine()
			select {
			case lines <- readLine{line, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for {
		s.prompt()
		select {
		case want <- struct{}{}:
		case <-ctx.Done():
			return nil
		case <-botDone:
			return fmt.Errorf("the bot stopped: %w", botErr())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-botDone:
			return fmt.Errorf("the bot stopped: %w", botErr())
		case r := <-lines:
			s.busy()
			if r.err != nil {
				s.printf("\n")
				if errors.Is(r.err, io.EOF) {
					return nil
				}
				return r.err
			}
			quit, err := s.do(ctx, strings.TrimSpace(r.line))
			if err != nil {
				s.printf("! %v\n", err)
			}
			if quit {
				return nil
			}
		}
	}
}

const consoleHelp = `console commands:
  /internship ...      run the slash command as the current user, in #internship
  react :emoji:        react to the current poll as the current user (:white_check_mark:, :thinking_face:, :x:)
  unreact :emoji:      take that reaction back
  reactions            the reactions on the current poll
  click LABEL          press the button labelled LABEL on the current poll (click maybe), on
                       the bot's last reply to you (click Forget my click), or on your Home
                       (click Add a deadline; click Details pay when several say Details)
  clock                show the emulated time
  clock +1d | +3h      move the emulated clock forward (d, h, m)
  clock 2026-12-14T09:00  set it (in the configured time zone)
  remind               run the reminder job now, at the emulated time (each person's DMs wait for
                       the schedule's time in their own zone)
  tz                   each person's time zone and local time
  tz NAME ZONE         set a person's Slack time zone (tz bob Asia/Tokyo)
  home                 open your App Home (your answers, deadlines, reminders; admins: poll controls)
  shortcut             run the global shortcut "Post the internship poll" (admins)
                       a form (modal) that opens is filled in at the prompt, field by field;
                       "cancel" closes it
  as NAME              become another person (admins: %s; not: %s)
  who                  list the people
  help                 this text
  quit                 leave (or Ctrl-D)
`

func (s *session) do(ctx context.Context, line string) (quit bool, err error) {
	if s.form != nil {
		return false, s.fill(ctx, line)
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return false, nil
	}
	defer s.offerModal(ctx, fields[0])
	switch {
	case fields[0] == "home":
		return false, s.home(ctx)
	case fields[0] == "shortcut":
		return false, s.shortcut(ctx)
	case strings.HasPrefix(fields[0], "/"):
		cmd, text, _ := strings.Cut(line, " ")
		return false, s.slash(ctx, cmd, strings.TrimSpace(text))
	case fields[0] == "quit" || fields[0] == "exit":
		return true, nil
	case fields[0] == "help":
		s.printf(consoleHelp, s.roster(true), s.roster(false))
	case fields[0] == "who":
		for _, p := range s.people {
			role := ""
			if s.isAdmin(p) {
				role = " (admin)"
			}
			s.printf("  @%s  %s%s\n", p.Name, p.RealName, role)
		}
	case fields[0] == "react" || fields[0] == "unreact":
		if len(fields) != 2 {
			return false, fmt.Errorf("usage: %s :emoji: (like %[1]s :white_check_mark: or %[1]s x)", fields[0])
		}
		return false, s.react(ctx, strings.Trim(fields[1], ":"), fields[0] == "react")
	case fields[0] == "click":
		_, label, _ := strings.Cut(line, " ")
		if label = strings.TrimSpace(label); label == "" {
			return false, errors.New("usage: click LABEL (like click maybe)")
		}
		return false, s.click(ctx, label)
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
		rep, err := s.bot.Reminders().RunReport(rctx)
		cancel()
		if err != nil {
			return false, err
		}
		s.printf("  reminder job ran at %s: %d deadline(s) due here, %d posted, %d DM(s) sent (%d nudges)\n",
			s.clock.Now().In(s.cfg.Timezone).Format("Mon Jan 2 15:04 MST"), len(rep.Due), len(rep.Posted), rep.DMsSent, rep.Nudged)
	case fields[0] == "tz":
		return false, s.tz(fields[1:])
	case fields[0] == "reactions":
		ts := s.currentPoll(ctx)
		if ts == "" {
			return false, errNoPoll
		}
		r := s.emu.Reactions(s.channel, ts)
		for _, name := range sortedNames(r) {
			users := make([]string, len(r[name]))
			for i, u := range r[name] {
				users[i] = s.names("<@" + u + ">")
			}
			s.printf("  :%s: %s\n", name, strings.Join(users, ", "))
		}
	case fields[0] == "as" && len(fields) == 2:
		name := strings.TrimPrefix(fields[1], "@")
		for _, p := range s.people {
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

// tz lists the people's time zones, or sets one person's (as their Slack profile would).
func (s *session) tz(args []string) error {
	switch len(args) {
	case 0:
		now := s.clock.Now()
		for _, p := range s.people {
			zone := p.TZ
			if zone == "" {
				zone = "UTC"
			}
			loc, err := time.LoadLocation(zone)
			if err != nil {
				loc = time.UTC
			}
			s.printf("  @%s  %s  %s\n", p.Name, zone, now.In(loc).Format("Mon Jan 2 15:04 MST"))
		}
		return nil
	case 2:
		name := strings.TrimPrefix(args[0], "@")
		if _, err := time.LoadLocation(args[1]); err != nil || args[1] == "" || args[1] == "Local" {
			return fmt.Errorf("unknown time zone %q; use an IANA name like Asia/Tokyo", args[1])
		}
		for i, p := range s.people {
			if p.Name == name {
				p.TZ = args[1]
				s.people[i] = p
				s.emu.AddUser(p)
				if s.user.ID == p.ID {
					s.user = p
				}
				s.printf("  @%s is now in %s\n", p.Name, p.TZ)
				return nil
			}
		}
		return fmt.Errorf("no one is called %q; try: who", name)
	default:
		return errors.New("usage: tz, or tz NAME ZONE (like tz bob Asia/Tokyo)")
	}
}

func (s *session) slash(ctx context.Context, cmd, text string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ack, err := s.emu.SlashCommand(ctx, s.user.ID, s.channel, cmd, text)
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
	p, err := s.db.CurrentPoll(ctx, s.channel)
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
		_, err = s.emu.AddReaction(ctx, s.user.ID, s.channel, ts, name)
	} else {
		_, err = s.emu.RemoveReaction(ctx, s.user.ID, s.channel, ts, name)
	}
	return err
}

// click presses the current user's button labelled label: on the current poll, else on the newest
// ephemeral reply with buttons the bot showed them in the channel.
func (s *session) click(ctx context.Context, label string) error {
	_, hasHome := s.emu.HomeView(s.user.ID)
	ts := s.currentPoll(ctx)
	if ts == "" {
		if hasHome {
			return s.clickHome(ctx, label)
		}
		return errNoPoll
	}
	where := []string{ts}
	msgs := s.emu.Messages(s.channel)
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Ephemeral && m.ToUser == s.user.ID && !m.Deleted {
			if btns, _ := s.emu.Buttons(s.channel, m.TS); len(btns) > 0 {
				where = append(where, m.TS)
				break
			}
		}
	}
	var labels []string
	for _, mts := range where {
		btns, err := s.emu.Buttons(s.channel, mts)
		if err != nil {
			continue
		}
		for _, b := range btns {
			if strings.EqualFold(b.Text, label) {
				ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				_, err := s.emu.Click(ctx, s.user.ID, s.channel, mts, b.ActionID)
				return err
			}
			labels = append(labels, b.Text)
		}
	}
	if hasHome {
		// Then the buttons of the Home the person opened (see surfaces.go).
		if err := s.clickHome(ctx, label); !errors.Is(err, errNoHomeButton) {
			return err
		}
	}
	if len(labels) == 0 {
		return errors.New("there are no buttons to press")
	}
	return fmt.Errorf("no button %q; the buttons are: %s", label, strings.Join(labels, ", "))
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
		where = "DM to " + s.imOwner(m.Channel)
	}
	if m.Via == "chat.update" {
		who += " (edited)"
	}
	head := who
	if where != "" {
		head = where + " · " + who
	}
	box := s.render(head, m.Text, m.Blocks)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.term != nil {
		fmt.Fprint(s.out, box) // the editor moves its prompt below it
		return
	}
	fmt.Fprint(s.out, "\n"+box)
	if s.idle {
		fmt.Fprintf(s.out, "%s> ", s.user.Name) // it arrived while the prompt waited: show it again
	}
}

// imOwner is "@bob" for the DM channel the bot opened with bob.
func (s *session) imOwner(channel string) string {
	for _, p := range s.people {
		if s.emu.IMChannel(p.ID) == channel {
			return "@" + p.Name
		}
	}
	return channel
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
// dateToken is Slack's <!date^UNIX^FORMAT|fallback>; the console shows the fallback.
var dateToken = regexp.MustCompile(`<!date\^[0-9]+\^[^|>]*\|([^>]*)>`)

func (s *session) names(text string) string {
	text = mention.ReplaceAllStringFunc(text, func(m string) string {
		sub := mention.FindStringSubmatch(m)
		if sub[1] == "#" {
			if sub[2] == s.channel {
				return "#" + channelName
			}
			return "#" + sub[2]
		}
		for _, p := range s.people {
			if p.ID == sub[2] {
				return "@" + p.Name
			}
		}
		if sub[2] == s.emu.BotUserID() {
			return "@internbot"
		}
		return "@" + sub[2]
	})
	text = dateToken.ReplaceAllString(text, "$1")
	text = link.ReplaceAllString(text, "$2 ($1)")
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(text)
}

// Flatten renders Block Kit JSON as plain text: headers underlined, sections as paragraphs, context
// in brackets, dividers as rules, buttons as [label]. Unknown blocks are skipped.
func Flatten(blocks json.RawMessage) string {
	if len(blocks) == 0 {
		return ""
	}
	type text struct {
		Text string `json:"text"`
	}
	var bs []struct {
		Type      string            `json:"type"`
		Text      *text             `json:"text"`
		Fields    []text            `json:"fields"`
		Elements  []json.RawMessage `json:"elements"`
		Accessory *struct {
			Type string `json:"type"`
			Text text   `json:"text"`
		} `json:"accessory"`
		Label   *text `json:"label"`
		Element *struct {
			Type string `json:"type"`
		} `json:"element"`
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
				sb.WriteString(b.Text.Text)
				if b.Accessory != nil && b.Accessory.Type == "button" {
					sb.WriteString("  [" + b.Accessory.Text.Text + "]")
				}
				sb.WriteString("\n")
			}
			for _, f := range b.Fields {
				sb.WriteString(f.Text + "\n")
			}
		case "context":
			parts := make([]string, 0, len(b.Elements))
			for _, raw := range b.Elements {
				var e text
				if json.Unmarshal(raw, &e) == nil {
					parts = append(parts, e.Text)
				}
			}
			sb.WriteString("(" + strings.Join(parts, " ") + ")\n")
		case "actions":
			var labels []string
			for _, raw := range b.Elements {
				var e struct {
					Type string `json:"type"`
					Text text   `json:"text"`
				}
				if json.Unmarshal(raw, &e) == nil && e.Type == "button" {
					labels = append(labels, "["+e.Text.Text+"]")
				}
			}
			sb.WriteString(strings.Join(labels, " ") + "\n")
		case "input":
			if b.Label != nil && b.Element != nil {
				sb.WriteString(b.Label.Text + ": ____ (" + b.Element.Type + ")\n")
			}
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
