package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/internbot/internbot/slackemu"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// internbotBinary builds ./cmd/internbot once per test run (a normal build, even under -race) and
// returns the binary's path.
func internbotBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("no go tool to build the binary: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "internbot-crash-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "internbot")
		// -buildvcs=auto: `internbot version` shows the revision when built in a git checkout.
		out, err := exec.Command(goTool, "build", "-buildvcs=auto", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// TestMain removes the binary internbotBinary built, once every test (and every -count) is done.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// child is `internbot run` as a separate process.
type child struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan error
}

func startChild(t *testing.T, emu *slackemu.Server, bin string, e env) *child {
	t.Helper()
	c := &child{cmd: exec.Command(bin, "run"), stderr: &lockedBuffer{}, done: make(chan error, 1)}
	for k, v := range e {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	c.cmd.Stderr = c.stderr
	before := emu.Connections()
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := emu.WaitConnections(ctx, before+1); err != nil {
		t.Fatalf("internbot did not connect: %v\n%s", err, c.stderr)
	}
	return c
}

// TestCrashLosesNoAckedAnswer kills the real binary with SIGKILL in the middle of a stream of
// reactions and checks the bot's promise: an acked reaction is on disk. After a restart on the same
// database, Slack's redelivery of the unacked envelopes is recognised (nothing counted twice) and
// reconciliation picks up every reaction made while the bot was down.
func TestCrashLosesNoAckedAnswer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := internbotBinary(t)
	emu := startEmulator(t)
	dbPath := filepath.Join(t.TempDir(), "internbot.db")
	e := emuEnv(emu, dbPath)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("admins: [U0ADMIN]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e["INTERNBOT_CONFIG"] = cfg
	e["INTERNBOT_LOG_LEVEL"] = "warn"

	bot := startChild(t, emu, bin, e)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ack, err := emu.SlashCommand(ctx, "U0ADMIN", "C0INTERN", "/internship", "poll")
	if err != nil || !strings.Contains(string(ack.Payload), "Posted the poll") {
		t.Fatalf("poll: %v %s\n%s", err, ack.Payload, bot.stderr)
	}
	var pollTS string
	for _, m := range emu.Messages("C0INTERN") {
		if m.User == emu.BotUserID() && strings.Contains(m.Text, "Are you applying") {
			pollTS = m.TS
		}
	}

	// Stream reactions, window outstanding, each from a new user; a user's reaction is first made in
	// the emulated workspace (as in Slack, where it exists whether or not the bot hears of it), then
	// its event is sent.
	const (
		total     = 4000
		window    = 64
		killAfter = 1500
	)
	answerOf := map[string]string{"white_check_mark": "yes", "x": "no"}
	want := map[string]string{} // user → answer, for every reaction made
	userOf := map[string]string{}
	var envs []slackemu.Envelope // sent, in order
	var outstanding []*slackemu.Pending
	acked := 0
	for i := 0; i < total && acked < killAfter; i++ {
		if len(outstanding) == window {
			if _, err := outstanding[0].Wait(ctx); err != nil {
				t.Fatalf("envelope %s not acked: %v\n%s", outstanding[0].ID(), err, bot.stderr)
			}
			outstanding = outstanding[1:]
			acked++
		}
		user, name := fmt.Sprintf("U%05d", i+1), "white_check_mark"
		if i%3 == 2 {
			name = "x"
		}
		emu.SetReactionQuietly(user, "C0INTERN", pollTS, name, true)
		want[user] = answerOf[name]
		env := emu.ReactionEvent(user, "C0INTERN", pollTS, name, true)
		p, err := emu.Send(ctx, env)
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		env.EnvelopeID = p.ID()
		envs = append(envs, env)
		userOf[p.ID()] = user
		outstanding = append(outstanding, p)
	}
	if err := bot.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no last acks
		t.Fatal(err)
	}
	<-bot.done

	ackedUsers := map[string]bool{}
	for _, a := range emu.Acks() {
		if u, ok := userOf[a.EnvelopeID]; ok {
			ackedUsers[u] = true
		}
	}
	if len(ackedUsers) < killAfter {
		t.Fatalf("%d of %d envelopes acked at the kill; want at least %d", len(ackedUsers), len(envs), killAfter)
	}
	// Usually some are in flight; if the bot acked them all before the kill landed, the redelivery
	// below has nothing to do, and the rest of the test still holds.
	t.Logf("killed with %d of %d sent envelopes acked", len(ackedUsers), len(envs))

	// Before any restart: every acked answer is in the database, as it was acked.
	got := exportAnswers(t, dbPath)
	for u := range ackedUsers {
		if got[u] != want[u] {
			t.Errorf("acked reaction of %s lost in the crash: answer %q, want %q", u, got[u], want[u])
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Restart. Slack sends the envelopes that were never acked again, with the same event ids; some
	// of them may have been committed before the kill, and none may count twice.
	bot = startChild(t, emu, bin, e)
	for _, env := range envs {
		if ackedUsers[userOf[env.EnvelopeID]] {
			continue
		}
		env.EnvelopeID, env.RetryAttempt, env.RetryReason = "", 1, "timeout"
		p, err := emu.Send(ctx, env)
		if err != nil {
			t.Fatalf("redeliver: %v", err)
		}
		if _, err := p.Wait(ctx); err != nil {
			t.Fatalf("redelivered envelope not acked: %v\n%s", err, bot.stderr)
		}
	}

	// Reconciliation (reactions.get after the reconnect) adds the reactions whose events were never
	// sent; wait until every reaction made is an answer.
	for {
		got = exportAnswers(t, dbPath)
		if len(got) >= len(want) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for u, a := range want {
		if got[u] != a {
			t.Errorf("after the restart %s has answer %q, want %q", u, got[u], a)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d answers exported, want %d", len(got), len(want))
	}
	assertOneEventPerUser(t, dbPath)

	if err := bot.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := <-bot.done; err != nil {
		t.Errorf("internbot after SIGINT: %v\n%s", err, bot.stderr)
	}
}

// exportAnswers runs `internbot export` and returns user → answer, failing on a user listed twice.
func exportAnswers(t *testing.T, db string) map[string]string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"internbot", "export", "-db", db}, env{}.get, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("export: %v", err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]string{}
	for _, r := range rows[1:] {
		if _, dup := answers[r[2]]; dup {
			t.Errorf("export lists %s twice", r[2])
		}
		answers[r[2]] = r[3]
	}
	return answers
}

// assertOneEventPerUser checks the event log: each user reacted once, so each has at most one
// reaction event from Slack, however often it was delivered.
func assertOneEventPerUser(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT user_id, count(*) FROM reaction_events
		WHERE source = 'event' AND user_id <> 'U0BOT' GROUP BY user_id HAVING count(*) > 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			user string
			n    int
		)
		if err := rows.Scan(&user, &n); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s's one reaction was recorded %d times", user, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
