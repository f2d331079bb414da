// Command internbot is a Slack bot for a workspace discussing one internship posting. This package
// only wires the other packages together; see the README for how to run it.
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
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // the Docker image has no zoneinfo; the binary carries its own

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/slack-go/slack"

	"github.com/internbot/internbot/bot"
	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/console"
	"github.com/internbot/internbot/loadtest"
	"github.com/internbot/internbot/ops"
	"github.com/internbot/internbot/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // after the first signal, a second one ends the process at once
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(os.Stderr, "internbot: "+msg)
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

const usage = `usage: internbot [command] [flags]

commands:
  run            connect to Slack and serve (the default)
  console        try the bot in a terminal against a built-in Slack emulator
  check-config   validate the configuration and print the effective settings
  export         write the poll answers as CSV to standard output
  remind         run the reminder job once, now, and exit
  backup FILE    write a consistent copy of the database to FILE, while the bot runs
  healthcheck    exit 0 if the bot's /healthz answers (for the Docker HEALTHCHECK)
  load           measure the bot under load against a built-in Slack emulator

Run "internbot COMMAND -h" for a command's flags.
`

// run is the whole program; main only adds signals and the exit status, so tests can call run.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "run", args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		cmd, rest = rest[0], rest[1:]
	}
	env := config.EnvFrom(getenv)
	switch cmd {
	case "run":
		return runBot(ctx, env, rest, stderr)
	case "console":
		return runConsole(ctx, env, rest, stdin, stdout, stderr)
	case "check-config":
		return checkConfig(env, rest, stdout, stderr)
	case "export":
		return export(ctx, env, rest, stdout, stderr)
	case "remind":
		return remind(ctx, env, rest, stderr)
	case "backup":
		return backup(ctx, env, rest, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, stderr)
	case "load":
		return loadCmd(ctx, rest, stdout, stderr)
	case "ack-peer":
		// Not in the usage: the ack-only peer that `load -compare` runs as a child, as it runs the bot.
		if len(rest) > 0 {
			return usageError(fmt.Errorf("ack-peer: unexpected argument %q", rest[0]))
		}
		if env.AppToken == "" {
			return usageError(errors.New("ack-peer: SLACK_APP_TOKEN is not set (internbot load -compare sets it)"))
		}
		return loadtest.AckPeer(ctx, env.AppToken, env.APIURL)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError(fmt.Errorf("unknown command %q", cmd))
	}
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
	f.fs.StringVar(&f.config, "config", env.ConfigPath, "YAML configuration `file` (env INTERNBOT_CONFIG; default: built in)")
	f.fs.StringVar(&f.db, "db", env.DBPath, "SQLite database `file` (env INTERNBOT_DB)")
	f.fs.StringVar(&f.logLevel, "log-level", env.LogLevel, "log level: debug, info, warn or error (env INTERNBOT_LOG_LEVEL)")
	if name == "run" {
		f.fs.StringVar(&f.http, "http", env.HTTPAddr, "serve /healthz, /readyz and /metrics on `ADDR`, like :8080 (env INTERNBOT_HTTP_ADDR; default off)")
	}
	return f
}

func (f *flags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{code: 0, err: errors.New("")}
		}
		return usageError(err)
	}
	if f.fs.NArg() > 0 {
		return usageError(fmt.Errorf("%s: unexpected argument %q", f.fs.Name(), f.fs.Arg(0)))
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
}

// prepare parses f from args, checks the tokens with checkTokens, loads the configuration and opens the
// database. The caller closes p.db.
func prepare(ctx context.Context, f *flags, args []string, checkTokens func() error, stderr io.Writer) (*prepared, error) {
	if err := f.parse(args); err != nil {
		return nil, err
	}
	if err := checkTokens(); err != nil {
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
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	db, err := storage.Open(ctx, f.db, storage.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	return &prepared{flags: f, cfg: cfg, logger: logger, db: db}, nil
}

func runBot(ctx context.Context, env config.Env, args []string, stderr io.Writer) error {
	p, err := prepare(ctx, newFlags("run", env, stderr), args, env.ValidateTokens, stderr)
	if err != nil {
		return err
	}
	defer p.db.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	b, err := bot.New(bot.Options{Config: p.cfg, Store: p.db, Client: slackClient(env), Logger: p.logger, Metrics: bot.NewMetrics(reg)})
	if err != nil {
		return err
	}
	if p.flags.http != "" {
		httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))
		defer stopHTTP()
		h := ops.Handler(reg, map[string]ops.Check{
			"slack": func(context.Context) error {
				if !b.Connected() {
					return errors.New("socket mode is not connected")
				}
				return nil
			},
			"database": p.db.CheckWritable,
		})
		_, served, err := ops.Serve(httpCtx, p.flags.http, h, p.logger)
		if err != nil {
			return usageError(err)
		}
		go func() {
			if err := <-served; err != nil {
				p.logger.Error("the health and metrics listener stopped", "err", err)
			}
		}()
	}
	p.logger.Info("starting", "db", p.flags.db, "config", describeSource(p.cfg.File), "api_url", env.APIURL)
	if err := b.Run(ctx); err != nil {
		return err
	}
	p.logger.Info("stopped")
	return nil
}

func slackClient(env config.Env) *slack.Client {
	// slack-go's default http.Client has no timeout; a hung connection must not hang the bot.
	return slack.New(env.BotToken, slack.OptionAPIURL(env.APIURL), slack.OptionAppLevelToken(env.AppToken),
		slack.OptionHTTPClient(&http.Client{Timeout: 30 * time.Second}))
}

// remind runs the reminder job once with the same exactly-once bookkeeping as the scheduled one.
func remind(ctx context.Context, env config.Env, args []string, stderr io.Writer) error {
	p, err := prepare(ctx, newFlags("remind", env, stderr), args, env.ValidateBotToken, stderr)
	if err != nil {
		return err
	}
	defer p.db.Close()
	b, err := bot.New(bot.Options{Config: p.cfg, Store: p.db, Client: slackClient(env), Logger: p.logger})
	if err != nil {
		return err
	}
	return b.RunReminders(ctx)
}

func backup(ctx context.Context, env config.Env, args []string, stdout, stderr io.Writer) error {
	f := newFlags("backup", env, stderr)
	if err := f.fs.Parse(args); err != nil {
		return usageError(err)
	}
	if f.fs.NArg() != 1 {
		return usageError(errors.New("backup: say where to write the copy: internbot backup [-db FILE] DEST"))
	}
	dst := f.fs.Arg(0)
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
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "the `URL` to check")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
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
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return console.Run(ctx, console.Options{Config: cfg, DBPath: f.db, In: stdin, Out: stdout, Logger: logger})
}

func checkConfig(env config.Env, args []string, stdout, stderr io.Writer) error {
	f := newFlags("check-config", env, stderr)
	if err := f.parse(args); err != nil {
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
	fmt.Fprintf(stdout, "# configuration OK (%s)\n", describeSource(cfg.File))
	fmt.Fprintf(stdout, "# SLACK_BOT_TOKEN=%s SLACK_APP_TOKEN=%s SLACK_API_URL=%s\n", config.Mask(env.BotToken), config.Mask(env.AppToken), env.APIURL)
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

func export(ctx context.Context, env config.Env, args []string, stdout, stderr io.Writer) error {
	f := newFlags("export", env, stderr)
	poll := f.fs.String("poll", "", "only the poll `CHANNEL/TS` (default: every poll)")
	if err := f.parse(args); err != nil {
		return err
	}
	ref, err := bot.ParsePollRef(*poll)
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
	return bot.ExportCSV(ctx, db, ref, stdout)
}

func loadCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
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
	fs.IntVar(&o.Rounds, "rounds", 1, "with -compare, alternate peer and bot runs this many times and print the median ratio")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &exitError{code: 0, err: errors.New("")}
		}
		return usageError(err)
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Errorf("load: unexpected argument %q", fs.Arg(0)))
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
