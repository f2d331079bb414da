// Command internbot is a Slack bot for a workspace discussing one internship posting. This package
// only wires the other packages together (a subcommand is one row in commandTable); see the README
// for how to run it. No package imports it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // the Docker image has no zoneinfo; the binary carries its own

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/slack-go/slack"

	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/console"
	"github.com/internbot/internbot/export"
	"github.com/internbot/internbot/loadtest"
	"github.com/internbot/internbot/ops"
	"github.com/internbot/internbot/remind"
	"github.com/internbot/internbot/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // after the first signal, a second one ends the process at once
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if msg := err.Error(); msg != "" {
			// Every line, so that each of several config errors reads on its own in a log.
			fmt.Fprintln(os.Stderr, "internbot: "+strings.ReplaceAll(msg, "\n", "\ninternbot: "))
		}
		os.Exit(exitCode(err))
	}
}

// exitError carries the process's exit status: 2 for bad usage, configuration or tokens, 1 for the rest.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(err error) error { return &exitError{code: 2, err: err} }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// stdio is what a command reads and writes.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// command is one `internbot` subcommand. The table is both the dispatch and the help text: a new
// subcommand is one row here (and a function that parses its flags with newFlags or setUsage).
type command struct {
	name    string
	args    string // positional arguments, for the usage line
	summary string
	run     func(ctx context.Context, env config.Env, args []string, std stdio) error
}

func commandTable() []command {
	return []command{
		{"run", "", "connect to Slack and serve until SIGINT or SIGTERM (the default command)", func(ctx context.Context, env config.Env, args []string, std stdio) error {
			return runBot(ctx, env, args, std.err)
		}},
		{"console", "", "try the real bot at a prompt, against a built-in Slack emulator (no workspace needed)", func(ctx context.Context, env config.Env, args []string, std stdio) error {
			return runConsole(ctx, env, args, std.in, std.out, std.err)
		}},
		{"check-config", "", "validate the configuration and print the effective settings", func(_ context.Context, env config.Env, args []string, std stdio) error {
			return checkConfig(env, args, std.out, std.err)
		}},
		{"export", "", "write the poll answers as CSV to standard output (safe while run is running)", func(ctx context.Context, env config.Env, args []string, std stdio) error {
			return exportCmd(ctx, env, args, std.out, std.err)
		}},
		{"remind", "", "run the reminder job once, now, with the same exactly-once bookkeeping, and exit", func(ctx context.Context, env config.Env, args []string, std stdio) error {
			return remindCmd(ctx, env, args, std.out, std.err)
		}},
		{"backup", "FILE", "write a consistent copy of the database to FILE (safe while run is running)", func(ctx context.Context, env config.Env, args []string, std stdio) error {
			return backup(ctx, env, args, std.out, std.err)
		}},
		{"healthcheck", "", "exit 0 if the bot's /healthz answers 200 (the Docker HEALTHCHECK)", func(ctx context.Context, _ config.Env, args []string, std stdio) error {
			return healthcheck(ctx, args, std.err)
		}},
		{"load", "", "measure the bot under load against a built-in Slack emulator", func(ctx context.Context, _ config.Env, args []string, std stdio) error {
			return loadCmd(ctx, args, std.out, std.err)
		}},
		{"version", "", "print the module version and the VCS revision this binary was built from", func(_ context.Context, _ config.Env, args []string, std stdio) error {
			return version(args, std.out, std.err)
		}},
		{"help", "", "print this list", func(_ context.Context, _ config.Env, _ []string, std stdio) error {
			printUsage(std.out)
			return nil
		}},
	}
}

// internalCommands are run by internbot itself, not by people: they are left out of the help.
func internalCommands() []command {
	return []command{
		{"ack-peer", "", "the ack-only peer that load -compare runs as a child, as it runs the bot", func(ctx context.Context, env config.Env, args []string, std stdio) error {
			fs := flag.NewFlagSet("ack-peer", flag.ContinueOnError)
			fs.SetOutput(std.err)
			setUsage(fs)
			if pos, err := parseArgs(fs, args); err != nil {
				return err
			} else if len(pos) > 0 {
				return usageError(fmt.Errorf("ack-peer: unexpected argument %q", pos[0]))
			}
			if env.AppToken == "" {
				return usageError(errors.New("ack-peer: SLACK_APP_TOKEN is not set (internbot load -compare sets it)"))
			}
			return loadtest.AckPeer(ctx, env.AppToken, env.APIURL)
		}},
	}
}

func lookupCommand(name string) (command, bool) {
	for _, c := range append(commandTable(), internalCommands()...) {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "usage: internbot [command] [flags]\n\ncommands:\n")
	for _, c := range commandTable() {
		fmt.Fprintf(w, "  %-19s %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprint(w, "\nRun \"internbot COMMAND -h\" for a command's flags. Flags may come before or after its arguments.\n")
}

// run is the whole program; main only adds signals and the exit status, so tests can call run.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	name, rest := "run", args[1:]
	if len(rest) > 0 {
		switch rest[0] {
		case "-h", "-help", "--help":
			name, rest = "help", rest[1:]
		case "-version", "--version":
			name, rest = "version", rest[1:]
		default:
			if !strings.HasPrefix(rest[0], "-") {
				name, rest = rest[0], rest[1:]
			}
		}
	}
	c, ok := lookupCommand(name)
	if !ok {
		printUsage(stderr)
		return usageError(fmt.Errorf("unknown command %q", name))
	}
	return c.run(ctx, config.EnvFrom(getenv), rest, stdio{in: stdin, out: stdout, err: stderr})
}

// setUsage makes fs's -h say what its command does, how to call it, and its flags.
func setUsage(fs *flag.FlagSet) {
	c, _ := lookupCommand(fs.Name())
	fs.Usage = func() {
		w := fs.Output()
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		line := c.name
		if n > 0 {
			line += " [flags]"
		}
		fmt.Fprintf(w, "usage: internbot %s\n\n%s.\n", strings.TrimSpace(line+" "+c.args), capitalize(c.summary))
		if n > 0 {
			fmt.Fprint(w, "\nflags:\n")
			fs.PrintDefaults()
		}
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parseArgs parses fs's flags wherever they are among the arguments (`backup bk.db -db x.db` reads
// -db) and returns the other arguments; everything after "--" is an argument. -h is an exitError with
// status 0 (fs has printed its usage), a bad flag a usage error.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &exitError{code: 0, err: errors.New("")}
			}
			return nil, usageError(err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// version prints the module version and the VCS revision from the build information.
func version(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	setUsage(fs)
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError(fmt.Errorf("version: unexpected argument %q", pos[0]))
	}
	fmt.Fprintln(stdout, versionLine())
	return nil
}

func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "internbot: no build information in this binary"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	rev := "revision unknown (built with -buildvcs=false or outside a git checkout)"
	if r := settings["vcs.revision"]; r != "" {
		rev = "revision " + r
		if t := settings["vcs.time"]; t != "" {
			rev += " (" + t + ")"
		}
		if settings["vcs.modified"] == "true" {
			rev += ", with uncommitted changes"
		}
	}
	return fmt.Sprintf("internbot %s, %s, %s", v, rev, bi.GoVersion)
}

// flags are the flags every command shares; each command adds its own.
type flags struct {
	fs       *flag.FlagSet
	config   string
	db       string
	logLevel string
	http     string
}

func newFlags(name string, env config.Env, stderr io.Writer) *flags {
	f := &flags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	setUsage(f.fs)
	f.fs.StringVar(&f.config, "config", env.ConfigPath, "YAML configuration `file` (env INTERNBOT_CONFIG; default: built in)")
	f.fs.StringVar(&f.db, "db", env.DBPath, "SQLite database `file` (env INTERNBOT_DB)")
	f.fs.StringVar(&f.logLevel, "log-level", env.LogLevel, "log level: debug, info, warn or error (env INTERNBOT_LOG_LEVEL)")
	if name == "run" {
		f.fs.StringVar(&f.http, "http", env.HTTPAddr, "serve /healthz, /readyz and /metrics on `ADDR`: :8080 is loopback only, 0.0.0.0:8080 every interface (env INTERNBOT_HTTP_ADDR; default off)")
	}
	return f
}

func (f *flags) parse(args []string) error {
	pos, err := parseArgs(f.fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError(fmt.Errorf("%s: unexpected argument %q", f.fs.Name(), pos[0]))
	}
	return nil
}

func (f *flags) level() (slog.Level, error) {
	var l slog.Level
	if f.logLevel == "" {
		return slog.LevelInfo, nil
	}
	if err := l.UnmarshalText([]byte(f.logLevel)); err != nil {
		return l, usageError(fmt.Errorf("-log-level: %q is not one of debug, info, warn, error", f.logLevel))
	}
	return l, nil
}

func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, usageError(err)
	}
	return cfg, nil
}

// prepared is what `run` and `remind` set up before they build the bot.
type prepared struct {
	flags  *flags
	cfg    *config.Config
	logger *slog.Logger
	db     *storage.DB
	lock   *storage.RunLock // nil unless asked for
}

// readableDurations makes JSON logs show durations as "250ms" rather than 250000000 (nanoseconds).
func readableDurations(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// close closes the database, then releases the run lock.
func (p *prepared) close() {
	p.db.Close()
	if p.lock != nil {
		p.lock.Close()
	}
}

// needs is what a command needs in place before it builds the bot.
type needs struct {
	tokens   func() error  // checks the tokens' form
	client   *slack.Client // asked whether Slack accepts the tokens, before any file is touched
	appToken bool          // the app-level token too (apps.connections.open)
	lock     bool          // the run lock: one bot per database
	existing bool          // the database must exist already (a command that only adds to it)
}

// prepare parses f from args, checks the tokens' form, loads the configuration, asks Slack about the
// tokens, takes the database's run lock if asked and opens the database. The caller calls p.close.
func prepare(ctx context.Context, f *flags, args []string, n needs, stderr io.Writer) (*prepared, error) {
	if err := f.parse(args); err != nil {
		return nil, err
	}
	if err := n.tokens(); err != nil {
		return nil, usageError(err)
	}
	level, err := f.level()
	if err != nil {
		return nil, err
	}
	cfg, err := loadConfig(f.config)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: readableDurations}))
	// Before the database file (or its lock file) exists: a token Slack refuses leaves nothing behind.
	if err := bot.CheckTokens(ctx, n.client, logger, n.appToken); err != nil {
		return nil, err
	}
	if n.existing {
		if _, err := os.Stat(f.db); err != nil {
			return nil, fmt.Errorf("%w (is -db or INTERNBOT_DB the bot's database? `internbot run` creates it)", err)
		}
	}
	var l *storage.RunLock
	if n.lock {
		if l, err = storage.LockRun(f.db); err != nil {
			return nil, err
		}
	}
	db, err := storage.Open(ctx, f.db, storage.WithLogger(logger))
	if err != nil {
		if l != nil {
			l.Close()
		}
		return nil, err
	}
	return &prepared{flags: f, cfg: cfg, logger: logger, db: db, lock: l}, nil
}

// runGCPercent is the bot's GOGC unless the operator sets one. Its live heap is a few MB, and at the
// default of 100 the collector ran every few thousand reactions: at 400, alternated with 100 on the
// shared 2-core machine (12 rounds each of load -compare -commands 0), bot CPU per reaction went from
// 27–32 µs to 25–26 µs and ack p99 at 64 outstanding from 3.5–7.7 ms to 3.0–6.0 ms, for a peak
// memory (VmHWM) of 37–38 MB instead of 25–26 MB.
const runGCPercent = 400

func runBot(ctx context.Context, env config.Env, args []string, stderr io.Writer) error {
	// The runtime has read GOGC already: 100 is its default, so anything else is the operator's.
	if old := debug.SetGCPercent(runGCPercent); old != 100 {
		debug.SetGCPercent(old)
	} else {
		defer debug.SetGCPercent(old)
	}
	client, clock := slackClient(env)
	// The run lock: a second bot on the same database would ack events and answer commands for
	// polls it does not know about.
	p, err := prepare(ctx, newFlags("run", env, stderr), args, needs{tokens: env.ValidateTokens, client: client, appToken: true, lock: true}, stderr)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting for Slack: a stop, not a failure
		}
		return err
	}
	defer p.close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	b, err := bot.New(bot.Options{Config: p.cfg, Store: p.db, Client: client, SlackClock: clock, Logger: p.logger, Metrics: bot.NewMetrics(reg)})
	if err != nil {
		return err
	}
	if p.flags.http != "" {
		h := ops.Handler(reg, map[string]ops.Check{
			"slack": func(context.Context) error { return b.Healthy() },
		}, map[string]ops.Check{
			"slack": func(context.Context) error {
				if !b.Connected() {
					return errors.New("socket mode is not connected")
				}
				return nil
			},
			"database": p.db.CheckWritable,
		})
		srv, err := ops.Listen(p.flags.http, h, p.logger)
		if err != nil {
			return usageError(err)
		}
		// It serves until the bot has stopped (/healthz answers while the bot drains), and runBot
		// returns only once it has stopped too.
		httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
		var served sync.WaitGroup
		defer served.Wait()
		defer stopHTTP()
		served.Go(func() {
			if err := srv.Serve(httpCtx); err != nil {
				p.logger.Error("the health and metrics listener stopped", "err", err)
			}
		})
	}
	p.logger.Info("starting", "db", p.flags.db, "config", describeSource(p.cfg.File), "api_url", config.RedactURL(env.APIURL))
	if err := b.Run(ctx); err != nil {
		return err
	}
	p.logger.Info("stopped")
	return nil
}

// slackClient builds the Web API client and the clock that reads Slack's time from its responses.
func slackClient(env config.Env) (*slack.Client, *bot.SlackClock) {
	clock := bot.NewSlackClock()
	// slack-go's default http.Client has no timeout; a hung connection must not hang the bot.
	return slack.New(env.BotToken, slack.OptionAPIURL(env.APIURL), slack.OptionAppLevelToken(env.AppToken),
		slack.OptionHTTPClient(bot.RedactURLErrors(clock.HTTPClient(&http.Client{Timeout: 30 * time.Second})))), clock
}

// remindCmd runs the reminder job once with the same exactly-once bookkeeping as the scheduled one and
// prints what it did. It fails only when something a later run may get done did not get done.
func remindCmd(ctx context.Context, env config.Env, args []string, stdout, stderr io.Writer) error {
	client, clock := slackClient(env)
	// The database must be the bot's: reminders recorded in a new, empty one would be posted again by
	// the bot, which does not see them.
	p, err := prepare(ctx, newFlags("remind", env, stderr), args, needs{tokens: env.ValidateBotToken, client: client, existing: true}, stderr)
	if err != nil {
		return err
	}
	defer p.close()
	b, err := bot.New(bot.Options{Config: p.cfg, Store: p.db, Client: client, SlackClock: clock, Logger: p.logger})
	if err != nil {
		return err
	}
	rep, err := b.Reminders().RunReport(ctx)
	printReport(stdout, rep)
	return err
}

func printReport(w io.Writer, r remind.Report) {
	if len(r.Due) == 0 {
		fmt.Fprintln(w, "no reminder is due today")
		return
	}
	fmt.Fprintf(w, "due today: %s\n", strings.Join(r.Due, ", "))
	if len(r.Posted) > 0 {
		fmt.Fprintf(w, "posted: %s\n", strings.Join(r.Posted, ", "))
	}
	fmt.Fprintf(w, "DMs sent: %d\n", r.DMsSent)
	if len(r.Undeliverable) > 0 {
		fmt.Fprintf(w, "DMs that can never be delivered (recorded as failed, not retried): %d\n", len(r.Undeliverable))
		for _, u := range r.Undeliverable {
			fmt.Fprintf(w, "  %s (%s): %s\n", u.User, u.Deadline, u.Reason)
		}
	}
}

func backup(ctx context.Context, env config.Env, args []string, stdout, stderr io.Writer) error {
	f := newFlags("backup", env, stderr)
	pos, err := parseArgs(f.fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(errors.New("backup: say where to write the copy, once: internbot backup [-db FILE] DEST"))
	}
	dst := pos[0]
	if _, err := os.Stat(f.db); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	db, err := storage.Open(ctx, f.db)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, dst); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s\n", f.db, dst)
	return nil
}

func healthcheck(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	setUsage(fs)
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "the `URL` to check")
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError(fmt.Errorf("healthcheck: unexpected argument %q", pos[0]))
	}
	return ops.Probe(ctx, *url)
}

func runConsole(ctx context.Context, env config.Env, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f := newFlags("console", env, stderr)
	f.db = "" // a console session gets a fresh database unless asked otherwise
	f.fs.Lookup("db").DefValue = ""
	f.fs.Lookup("db").Usage = "SQLite database `file` (default: a new temporary one)"
	if err := f.parse(args); err != nil {
		return err
	}
	level, err := f.level()
	if err != nil {
		return err
	}
	cfg, err := loadConfig(f.config)
	if err != nil {
		return err
	}
	// The console is a conversation: only warnings and errors interrupt it, unless asked for more.
	explicit := false
	f.fs.Visit(func(fl *flag.Flag) { explicit = explicit || fl.Name == "log-level" })
	if !explicit {
		level = slog.LevelWarn
	}
	if f.db != "" { // a bot on a database file: the same lock as run's
		l, err := storage.LockRun(f.db)
		if err != nil {
			return err
		}
		defer l.Close()
	}
	return console.Run(ctx, console.Options{Config: cfg, DBPath: f.db, In: stdin, Out: stdout, Log: stderr, LogLevel: level})
}

func checkConfig(env config.Env, args []string, stdout, stderr io.Writer) error {
	f := newFlags("check-config", env, stderr)
	if err := f.parse(args); err != nil {
		return err
	}
	if _, err := f.level(); err != nil {
		return err
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	out, err := cfg.Effective()
	if err != nil {
		return err
	}
	// Warnings: settings that pass but are likely not what was meant. The tokens are checked as
	// `run` would check them, though check-config itself needs none.
	if err := env.ValidateTokens(); err != nil {
		for _, msg := range strings.Split(err.Error(), "; ") {
			fmt.Fprintf(stderr, "internbot: warning: %s\n", msg)
		}
	}
	for _, w := range cfg.Warnings(time.Now()) {
		fmt.Fprintf(stderr, "internbot: warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "# configuration OK (%s)\n", describeSource(cfg.File))
	fmt.Fprintf(stdout, "# SLACK_BOT_TOKEN=%s SLACK_APP_TOKEN=%s SLACK_API_URL=%s\n", config.Mask(env.BotToken), config.Mask(env.AppToken), config.RedactURL(env.APIURL))
	fmt.Fprintf(stdout, "# database: %s\n", f.db)
	_, err = stdout.Write(out)
	return err
}

func describeSource(file string) string {
	if file == "" {
		return "built-in defaults"
	}
	return file
}

func exportCmd(ctx context.Context, env config.Env, args []string, stdout, stderr io.Writer) error {
	f := newFlags("export", env, stderr)
	poll := f.fs.String("poll", "", "only the poll `CHANNEL/TS` (default: every poll)")
	if err := f.parse(args); err != nil {
		return err
	}
	ref, err := export.ParsePollRef(*poll)
	if err != nil {
		return usageError(err)
	}
	if _, err := os.Stat(f.db); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	db, err := storage.Open(ctx, f.db)
	if err != nil {
		return err
	}
	defer db.Close()
	return export.CSV(ctx, db, ref, stdout)
}

func loadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	setUsage(fs)
	var o loadtest.Options
	inProcess := fs.Bool("inprocess", false, "run the bot inside this process instead (for -cpuprofile and -memprofile; figures then include the emulator)")
	fs.StringVar(&o.Bin, "bin", "", "the bot `binary` to measure (default: this executable, as \"internbot run\")")
	fs.IntVar(&o.Events, "events", 20000, "reaction events to send")
	fs.IntVar(&o.Commands, "commands", 2000, "slash commands to send")
	fs.IntVar(&o.Outstanding, "outstanding", 64, "envelopes in flight at once")
	fs.IntVar(&o.Users, "users", 500, "distinct users reacting")
	fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "give up on a run after this long")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of this process to `file`")
	fs.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile of this process to `file` at the end")
	fs.BoolVar(&o.Compare, "compare", false, "also run the same load against an ack-only peer (\"BIN ack-peer\", or in-process with -inprocess) and print the bot's rate as a ratio of the peer's")
	fs.StringVar(&o.CommandText, "command-text", "", "send every slash command as \"/internship `TEXT`\" (default: a mix of questions)")
	fs.IntVar(&o.Rounds, "rounds", 1, "with -compare, alternate peer and bot runs this many times and print the median ratio")
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError(fmt.Errorf("load: unexpected argument %q", pos[0]))
	}
	switch {
	case *inProcess && o.Bin != "":
		return usageError(errors.New("load: -bin and -inprocess exclude each other"))
	case *inProcess:
		o.InProcess = func(ctx context.Context, getenv func(string) string, log io.Writer) error {
			return run(ctx, []string{"internbot", "run"}, getenv, nil, io.Discard, log)
		}
	case o.Bin == "":
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("load: find this executable: %w", err)
		}
		o.Bin = exe
	}
	if err := o.Validate(); err != nil {
		return usageError(err)
	}
	return loadtest.Run(ctx, o, stdout)
}
