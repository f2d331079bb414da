// Package loadtest is `internbot load`: it measures a bot the way Slack drives it — the Slack
// emulator on loopback, the bot (a child process, or in this process) with a fresh database, a poll,
// then many reaction events and slash commands kept outstanding over Socket Mode — and prints
// throughput, ack latencies per envelope type, errors and the bot's peak memory. It is bounded in
// count and time, talks only to loopback, and removes its files. It drives the bot from outside, as
// Slack does; nothing but cmd/internbot may import it.
package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

const (
	loadChannel = "C0LOAD"
	loadAdmin   = "U0LOADADMIN"
)

// Options says what to measure. Exactly one of Bin and InProcess is set.
type Options struct {
	Bin string // the bot binary, run as "BIN run"
	// InProcess runs the bot in this process until ctx ends, with getenv as its environment and its
	// logs written to log (for profiling; the figures then include the emulator).
	InProcess   func(ctx context.Context, getenv func(string) string, log io.Writer) error
	Events      int
	Commands    int
	Outstanding int
	Users       int
	CommandText string        // every slash command's text; "" is a mix of questions (loadQuestions)
	Timeout     time.Duration // for each run
	CPUProfile  string        // write a CPU profile of this process here
	MemProfile  string        // write a heap profile of this process here at the end

	// Compare also runs the same driver against an ack-only peer (AckPeer: "BIN ack-peer", or in this
	// process with InProcess), alternating peer and bot for Rounds rounds, and prints the bot's rate
	// as a ratio of the peer's: how close the bot comes to what the machine can do.
	Compare bool
	Rounds  int // at least 1; more only with Compare
}

// Validate checks the options, with messages fit for the command line.
func (o Options) Validate() error {
	switch {
	case o.Events < 0 || o.Commands < 0 || o.Events+o.Commands == 0:
		return errors.New("load: -events and -commands must be >= 0, and not both 0")
	case o.Outstanding < 1 || o.Users < 1 || o.Timeout <= 0:
		return errors.New("load: -outstanding, -users and -timeout must be positive")
	case (o.Bin == "") == (o.InProcess == nil):
		return errors.New("load: -bin and -inprocess exclude each other")
	case o.Rounds < 1:
		return errors.New("load: -rounds must be positive")
	case o.Rounds > 1 && !o.Compare:
		return errors.New("load: -rounds alternates the bot with the ack-only peer; it needs -compare")
	}
	return nil
}

// Run measures the bot (and with Compare, the ack-only peer) and writes the report to stdout.
func Run(ctx context.Context, o Options, stdout io.Writer) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	bot := target{name: "bot", bin: o.Bin, args: []string{"run"}, inProcess: o.InProcess, bot: true}
	if !o.Compare {
		_, err := runTimed(ctx, o, bot, stdout)
		return err
	}
	// The peer is a child process exactly as the bot is (or in this process exactly as the bot is), so
	// that both pay the same for crossing loopback and share the machine with the same driver.
	peer := target{name: "ack-only peer", bin: o.Bin, args: []string{"ack-peer"}}
	if o.InProcess != nil {
		peer.inProcess = func(ctx context.Context, getenv func(string) string, log io.Writer) error {
			return AckPeer(ctx, getenv("SLACK_APP_TOKEN"), getenv("SLACK_API_URL"))
		}
	}
	var rounds [][2]summary // peer, bot
	for i := range o.Rounds {
		var r [2]summary
		for j, t := range []target{peer, bot} {
			fmt.Fprintf(stdout, "== round %d of %d: %s ==\n", i+1, o.Rounds, t.name)
			var err error
			if r[j], err = runTimed(ctx, o, t, stdout); err != nil {
				return fmt.Errorf("round %d, %s: %w", i+1, t.name, err)
			}
		}
		rounds = append(rounds, r)
	}
	printComparison(stdout, o, rounds)
	return nil
}

// runTimed is one run, bounded by o.Timeout.
func runTimed(ctx context.Context, o Options, t target, stdout io.Writer) (summary, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	return runLoad(ctx, o, t, stdout)
}

// target is what a run drives: the bot, or the ack-only peer.
type target struct {
	name      string
	bin       string   // run as "bin args..." unless inProcess is set
	args      []string //
	inProcess func(ctx context.Context, getenv func(string) string, log io.Writer) error
	bot       bool // the bot: it posts the poll, answers commands and stores answers
}

// summary is what the comparison needs of a run.
type summary struct {
	rate       float64          // acked envelopes per second
	p99        [2]time.Duration // reactions, slash commands
	acked, all int
}

func printComparison(w io.Writer, o Options, rounds [][2]summary) {
	fmt.Fprintf(w, "bot vs ack-only peer: same driver, same %d reaction events + %d slash commands, %d outstanding\n",
		o.Events, o.Commands, o.Outstanding)
	fmt.Fprintf(w, "  %-5s  %12s  %12s  %8s  %21s  %21s\n", "round", "peer env/s", "bot env/s", "bot/peer",
		"reactions p99 peer/bot", "commands p99 peer/bot")
	ratios := make([]float64, 0, len(rounds))
	for i, r := range rounds {
		peer, bot := r[0], r[1]
		ratio := bot.rate / peer.rate
		ratios = append(ratios, ratio)
		fmt.Fprintf(w, "  %-5d  %12.0f  %12.0f  %8.2f  %21s  %21s\n", i+1, peer.rate, bot.rate, ratio,
			pctD(peer.p99[0])+" / "+pctD(bot.p99[0]), pctD(peer.p99[1])+" / "+pctD(bot.p99[1]))
	}
	slices.Sort(ratios)
	m := ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		m = (ratios[len(ratios)/2-1] + m) / 2
	}
	fmt.Fprintf(w, "median bot/peer rate over %d rounds: %.2f (the bot acks at %.2fx the rate of a peer that only acks)\n",
		len(ratios), m, m)
}

// botProcess is the bot under load: a child process, or Options.InProcess on a goroutine.
type botProcess struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan error
	log    string // its log file
}

func (p *botProcess) pid() int {
	if p.cmd != nil {
		return p.cmd.Process.Pid
	}
	return os.Getpid()
}

// stop asks the bot to shut down as SIGTERM does and waits for it.
func (p *botProcess) stop() error {
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	} else {
		p.cancel()
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(15 * time.Second):
		if p.cmd != nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		return errors.New("the bot did not stop within 15s of SIGTERM")
	}
}

func runLoad(ctx context.Context, o Options, t target, stdout io.Writer) (sum summary, err error) {
	dir, err := os.MkdirTemp("", "internbot-load-")
	if err != nil {
		return sum, err
	}
	defer os.RemoveAll(dir)

	emu := slackemu.New(slackemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		return sum, fmt.Errorf("start emulator: %w", err)
	}
	defer emu.Close()
	users := make([]string, o.Users)
	members := []string{loadAdmin, emu.BotUserID()}
	emu.AddUser(slackemu.User{ID: loadAdmin, Name: "loadadmin", IsAdmin: true})
	for i := range users {
		users[i] = fmt.Sprintf("U0LOAD%05d", i)
		emu.AddUser(slackemu.User{ID: users[i], Name: fmt.Sprintf("user%d", i)})
		members = append(members, users[i])
	}
	emu.AddChannel(slackemu.Channel{ID: loadChannel, Name: "load", Members: members})

	dbPath := filepath.Join(dir, "internbot.db")
	proc, err := startProcess(t, emu, dir, dbPath)
	if err != nil {
		return sum, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = proc.stop()
		}
	}()
	desc := fmt.Sprintf("pid %d (%s %s)", proc.pid(), t.bin, strings.Join(t.args, " "))
	if t.inProcess != nil {
		desc = "in this process"
	}
	fmt.Fprintf(stdout, "internbot load: %s %s, %d reaction events + %d slash commands, %d outstanding, %d users\n",
		t.name, desc, o.Events, o.Commands, o.Outstanding, o.Users)
	if o.CommandText != "" && o.Commands > 0 {
		fmt.Fprintf(stdout, "slash commands: %q\n", "/internship "+o.CommandText)
	}

	if err := emu.WaitConnected(ctx); err != nil {
		return sum, fmt.Errorf("the %s did not connect: %w\n%s", t.name, err, tail(proc.log, 20))
	}
	var pollTS string
	if t.bot {
		if pollTS, err = loadPoll(ctx, emu); err != nil {
			return sum, fmt.Errorf("post the poll: %w\n%s", err, tail(proc.log, 20))
		}
	} else if pollTS, err = emu.PostAsUser(emu.BotUserID(), loadChannel, "poll"); err != nil {
		// The same message as far as the envelopes go: the bot's, in the same channel.
		return sum, err
	}

	res := drive(ctx, emu, o, users, pollTS, t.bot)
	sum = summary{rate: float64(res.acked()) / res.elapsed.Seconds(), acked: res.acked(), all: o.Events + o.Commands}
	fmt.Fprintf(stdout, "acked %d of %d envelopes in %.2fs: %.0f acked envelopes/s\n",
		res.acked(), o.Events+o.Commands, res.elapsed.Seconds(), sum.rate)
	for i, s := range res.stats {
		sum.p99[i] = pctDuration(s.lat, 99)
		fmt.Fprintf(stdout, "  %-15s acked %6d  ack p50 %8s  p99 %8s  max %8s  errors %d\n",
			s.name, len(s.lat), pct(s.lat, 50), pct(s.lat, 99), pct(s.lat, 100), s.errors)
	}
	for _, s := range res.stats {
		if s.firstErr != nil {
			fmt.Fprintf(stdout, "  first %s error: %v\n", s.name, s.firstErr)
		}
	}

	hwm, rss := procMemory(proc.pid())
	cpu, cpuOK := procCPU(proc.pid())
	stopped = true
	stopErr := proc.stop()
	if t.inProcess != nil {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(stdout, "memory (whole process, emulator included): VmHWM %s, VmRSS %s, Go heap in use %s, Go sys %s\n",
			hwm, rss, mb(ms.HeapInuse), mb(ms.Sys))
	} else {
		fmt.Fprintf(stdout, "%s peak memory: VmHWM %s (VmRSS %s just before SIGTERM)\n", t.name, hwm, rss)
		if cpuOK && res.acked() > 0 {
			fmt.Fprintf(stdout, "%s CPU: %.2fs user+system, %.0f µs per acked envelope (the rest of the machine ran the emulator and this driver)\n",
				t.name, cpu.Seconds(), float64(cpu.Microseconds())/float64(res.acked()))
		}
	}
	if o.MemProfile != "" && t.bot {
		if err := writeHeapProfile(o.MemProfile); err != nil {
			return sum, err
		}
	}
	warns, errs := countLogLevels(proc.log)
	fmt.Fprintf(stdout, "%s log: %d warnings, %d errors\n", t.name, warns, errs)
	if errs > 0 {
		fmt.Fprintln(stdout, tail(proc.log, 5))
	}
	if t.bot {
		answered, err := countAnswers(dbPath, pollTS)
		if err != nil {
			return sum, err
		}
		fmt.Fprintf(stdout, "stored answers: %d users answered the poll\n", answered)
	}
	if stopErr != nil {
		return sum, fmt.Errorf("load: stop the %s: %w\n%s", t.name, stopErr, tail(proc.log, 20))
	}
	if res.errors() > 0 {
		return sum, fmt.Errorf("load: %d envelopes failed", res.errors())
	}
	return sum, ctx.Err()
}

// startProcess starts t against emu: a child process with only the environment it needs, or
// t.inProcess on a goroutine.
func startProcess(t target, emu *slackemu.Server, dir, dbPath string) (*botProcess, error) {
	logPath := filepath.Join(dir, "bot.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"SLACK_BOT_TOKEN":     emu.BotToken(),
		"SLACK_APP_TOKEN":     emu.AppToken(),
		"SLACK_API_URL":       emu.APIURL(),
		"INTERNBOT_DB":        dbPath,
		"INTERNBOT_LOG_LEVEL": "warn",
	}
	p := &botProcess{done: make(chan error, 1), log: logPath}
	if t.inProcess != nil {
		ctx, cancel := context.WithCancel(context.Background())
		p.cancel = cancel
		go func() {
			defer logFile.Close()
			p.done <- t.inProcess(ctx, func(k string) string { return env[k] }, logFile)
		}()
		return p, nil
	}
	// The child gets only what it needs: none of this process's environment, and so none of its tokens.
	cmd := exec.Command(t.bin, t.args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "TMPDIR="+dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", t.bin, err)
	}
	p.cmd = cmd
	go func() {
		err := cmd.Wait()
		logFile.Close()
		p.done <- err
	}()
	return p, nil
}

// loadPoll runs /internship poll as an admin and waits for the bot's own option reactions.
func loadPoll(ctx context.Context, emu *slackemu.Server) (string, error) {
	ack, err := emu.SlashCommand(ctx, loadAdmin, loadChannel, "/internship", "poll")
	if err != nil {
		return "", err
	}
	if !bytes.Contains(ack.Payload, []byte("Posted the poll")) {
		return "", fmt.Errorf("the bot answered %s", ack.Payload)
	}
	for {
		for _, m := range emu.Messages(loadChannel) {
			if m.User == emu.BotUserID() && !m.Ephemeral && len(emu.Reactions(loadChannel, m.TS)) >= 3 {
				return m.TS, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", errors.New("the poll message or its reactions never appeared")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

type typeStats struct {
	name     string
	lat      []time.Duration
	errors   int
	firstErr error
}

type loadResult struct {
	elapsed time.Duration
	stats   []*typeStats // reactions, then slash commands
}

func (r loadResult) acked() (n int) {
	for _, s := range r.stats {
		n += len(s.lat)
	}
	return n
}

func (r loadResult) errors() (n int) {
	for _, s := range r.stats {
		n += s.errors
	}
	return n
}

var loadQuestions = []string{"pay", "where is it?", "results", "me", "deadlines", "help", "remote?", "tech stack"}
var loadOptionsCycle = []string{"white_check_mark", "thinking_face", "x"}

// drive keeps o.Outstanding envelopes in flight until every one has been sent and acked, or ctx ends.
// Slash commands are spread evenly among the reaction events; with wantReply, a command acked with no
// reply is an error (the bot always answers; the ack-only peer never does).
func drive(ctx context.Context, emu *slackemu.Server, o Options, users []string, pollTS string, wantReply bool) loadResult {
	total := o.Events + o.Commands
	jobs := make(chan int)
	go func() {
		defer close(jobs)
		for i := range total {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	isCommand := func(i int) bool { return i*o.Commands/total != (i+1)*o.Commands/total }

	var mu sync.Mutex
	res := loadResult{stats: []*typeStats{{name: "events_api"}, {name: "slash_commands"}}}
	start := time.Now()
	var wg sync.WaitGroup
	for range o.Outstanding {
		wg.Go(func() {
			var local [2]typeStats
			for i := range jobs {
				k, err, d := 0, error(nil), time.Duration(0)
				if isCommand(i) {
					k = 1
					t0 := time.Now()
					var ack slackemu.Ack
					text := o.CommandText
					if text == "" {
						text = loadQuestions[i%len(loadQuestions)]
					}
					ack, err = emu.SlashCommand(ctx, users[i%len(users)], loadChannel, "/internship", text)
					d = time.Since(t0)
					if err == nil && wantReply && len(ack.Payload) == 0 {
						err = errors.New("slash command acked with no reply")
					}
				} else {
					// Each user walks through the options, adding then removing each: every event changes an answer.
					r := i - i*o.Commands/total // reaction events before this one
					u, step := r%len(users), r/len(users)
					env := emu.ReactionEvent(users[u], loadChannel, pollTS, loadOptionsCycle[(step/2)%3], step%2 == 0)
					t0 := time.Now()
					var pd *slackemu.Pending
					if pd, err = emu.Send(ctx, env); err == nil {
						_, err = pd.Wait(ctx)
					}
					d = time.Since(t0)
				}
				if err != nil {
					local[k].errors++
					if local[k].firstErr == nil {
						local[k].firstErr = err
					}
					continue
				}
				local[k].lat = append(local[k].lat, d)
			}
			mu.Lock()
			for k := range local {
				s := res.stats[k]
				s.lat = append(s.lat, local[k].lat...)
				s.errors += local[k].errors
				if s.firstErr == nil {
					s.firstErr = local[k].firstErr
				}
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	for _, s := range res.stats {
		slices.Sort(s.lat)
	}
	return res
}

// pct is the p-th percentile of sorted latencies (100: the maximum), rounded for printing.
func pct(sorted []time.Duration, p int) string { return pctD(pctDuration(sorted, p)) }

// pctDuration is the p-th percentile of sorted latencies; 0 if there are none.
func pctDuration(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	i = min(max(i-1, 0), len(sorted)-1)
	return sorted[i]
}

// pctD rounds a latency for printing; 0 is "-" (no envelopes of that type).
func pctD(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= 100*time.Microsecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

// procCPU is the user+system CPU time a process has used so far, from /proc/PID/stat (Linux only).
func procCPU(pid int) (time.Duration, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
	rest := string(data)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, false
	}
	const ticksPerSecond = 100 // USER_HZ, 100 on every Linux this runs on
	return time.Duration(utime+stime) * time.Second / ticksPerSecond, true
}

// procMemory reads the peak (VmHWM) and current (VmRSS) resident set of pid from /proc; elsewhere it
// says it cannot.
func procMemory(pid int) (hwm, rss string) {
	hwm, rss = "n/a", "n/a"
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return hwm, rss
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmHWM":
			hwm = mb(kb * 1024)
		case "VmRSS":
			rss = mb(kb * 1024)
		}
	}
	return hwm, rss
}

func mb(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/(1<<20)) }

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// countLogLevels counts the warnings and errors in the bot's log (JSON lines, or text in-process).
func countLogLevels(path string) (warns, errs int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	for line := range strings.Lines(string(b)) {
		switch {
		case strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, "level=WARN"):
			warns++
		case strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "level=ERROR"):
			errs++
		}
	}
	return warns, errs
}

// tail is the last n lines of the file at path, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "bot log:\n" + strings.Join(lines, "\n")
}

func countAnswers(dbPath, pollTS string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := storage.Open(ctx, dbPath)
	if err != nil {
		return 0, fmt.Errorf("open the bot's database: %w", err)
	}
	defer db.Close()
	p, err := db.CurrentPoll(ctx, loadChannel)
	if err != nil {
		return 0, fmt.Errorf("the poll: %w", err)
	}
	if p.TS != pollTS {
		return 0, fmt.Errorf("stored poll ts %s, posted %s", p.TS, pollTS)
	}
	answers, err := db.Answers(ctx, p.ID)
	return len(answers), err
}
