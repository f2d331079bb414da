package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

// running is `internbot run` on a goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan error
	stderr *lockedBuffer
}

// startRun starts run without waiting for anything.
func startRun(t *testing.T, e env, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1), stderr: &lockedBuffer{}}
	go func() {
		r.done <- run(ctx, append([]string{"internbot", "run"}, args...), e.get, strings.NewReader(""), &bytes.Buffer{}, r.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
		}
	})
	return r
}

// wait returns run's error, failing the test if run has not returned within d.
func (r *running) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(d):
		t.Fatalf("run did not return within %v\n%s", d, r.stderr)
		return nil
	}
}

func pollUntil(t *testing.T, d time.Duration, what string, cond func() bool, logs fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s\n%s", d, what, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logLines are run's JSON log lines; a line that is not JSON fails the test.
func logLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
			continue
		}
		out = append(out, m)
	}
	return out
}

// httpBase finds the address -http 127.0.0.1:0 got, from the "http listening" log line.
func httpBase(t *testing.T, r *running) string {
	t.Helper()
	var addr string
	pollUntil(t, 10*time.Second, "the http listener", func() bool {
		for _, l := range logLines(t, r.stderr.String()) {
			if l["msg"] == "http listening" {
				addr, _ = l["addr"].(string)
				return addr != ""
			}
		}
		return false
	}, r.stderr)
	return "http://" + addr
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// adminEnv is emuEnv with a config that makes U0ADMIN an admin and C0INTERN the reminder channel.
func adminEnv(t *testing.T, emu *slackemu.Server, db string, extra ...string) env {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	body := "admins: [U0ADMIN]\nchannel: C0INTERN\n" + strings.Join(extra, "")
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	e := emuEnv(emu, db)
	e["INTERNBOT_CONFIG"] = cfg
	return e
}

func pollMessage(t *testing.T, emu *slackemu.Server) string {
	t.Helper()
	ack, err := emu.SlashCommand(context.Background(), "U0ADMIN", "C0INTERN", "/internship", "poll")
	if err != nil || !strings.Contains(string(ack.Payload), "Posted the poll") {
		t.Fatalf("poll: %v %s", err, ack.Payload)
	}
	for _, m := range emu.Messages("C0INTERN") {
		if m.User == emu.BotUserID() && strings.Contains(m.Text, "Are you applying") {
			return m.TS
		}
	}
	t.Fatal("no poll message")
	return ""
}

// TestReadyz: /readyz says 503 with the reason while Socket Mode is down (apps.connections.open
// failing for a while) and 200 once it is back; /healthz says 200 throughout.
func TestReadyz(t *testing.T) {
	emu := startEmulator(t)
	r := startRun(t, emuEnv(emu, filepath.Join(t.TempDir(), "internbot.db")), "-http", "127.0.0.1:0")
	base := httpBase(t, r)
	pollUntil(t, 10*time.Second, "/readyz 200", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 }, r.stderr)

	emu.Fail("apps.connections.open", slackemu.Failure{Status: 500, Times: 5}) // about 3 s of backoff
	emu.DropSockets()
	var body string
	pollUntil(t, 5*time.Second, "/readyz 503", func() bool {
		var code int
		code, body = get(t, base+"/readyz")
		return code == http.StatusServiceUnavailable
	}, r.stderr)
	if !strings.Contains(body, "slack: socket mode is not connected") {
		t.Errorf("/readyz body while disconnected = %q, want the reason", body)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d while disconnected, want 200 (the process is alive)", code)
	}
	pollUntil(t, 15*time.Second, "/readyz 200 after the reconnect", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == 200
	}, r.stderr)
	r.cancel()
	if err := r.wait(t, 10*time.Second); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// TestRevokedTokenExits mid-run: slack-go's reconnect gets invalid_auth and run must end, non-zero,
// saying so, instead of retrying forever.
func TestRevokedMidRunExits(t *testing.T) {
	emu := startEmulator(t)
	stop, stderr := startBot(t, emu, emuEnv(emu, filepath.Join(t.TempDir(), "internbot.db")))
	emu.RevokeTokens()
	done := make(chan error, 1)
	go func() { done <- stop() }()
	// stop cancels at once; what matters is that run had already decided to exit on its own, which the
	// error says (a plain cancel returns nil).
	select {
	case err := <-done:
		if err == nil || exitCode(err) == 0 {
			t.Fatalf("run = %v (exit %d), want a non-zero exit\n%s", err, exitCode(err), stderr)
		}
		if !strings.Contains(err.Error(), "invalid_auth") || !strings.Contains(err.Error(), "refused the tokens") {
			t.Errorf("error = %q, want it to say Slack refused the tokens (invalid_auth)", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("run did not return\n%s", stderr)
	}
}

// TestRevokedMidRunExitsByItself: no cancel at all: run returns by itself.
func TestRevokedMidRunExitsByItself(t *testing.T) {
	emu := startEmulator(t)
	r := startRun(t, emuEnv(emu, filepath.Join(t.TempDir(), "internbot.db")))
	pollUntil(t, 10*time.Second, "a connection", emu.Connected, r.stderr)
	emu.RevokeTokens()
	err := r.wait(t, 15*time.Second)
	if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("run = %v (exit %d), want invalid_auth and a non-zero exit", err, exitCode(err))
	}
}

// TestShutdownAndBackup: `internbot backup` while run serves makes a consistent copy with the answers;
// then cancel (SIGTERM) makes run return nil within 10 s with the database flushed and closed.
func TestShutdownAndBackup(t *testing.T) {
	emu := startEmulator(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "internbot.db")
	stop, stderr := startBot(t, emu, adminEnv(t, emu, db))
	ts := pollMessage(t, emu)
	ctx := context.Background()
	for i := range 10 {
		if _, err := emu.AddReaction(ctx, fmt.Sprintf("U%04d", i), "C0INTERN", ts, "white_check_mark"); err != nil {
			t.Fatal(err)
		}
	}

	copyPath := filepath.Join(dir, "copy.db")
	var out bytes.Buffer
	if err := run(ctx, []string{"internbot", "backup", "-db", db, copyPath}, env{}.get, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("backup while running: %v", err)
	}
	if err := run(ctx, []string{"internbot", "backup", "-db", db, copyPath}, env{}.get, nil, &out, &bytes.Buffer{}); err == nil {
		t.Error("a second backup overwrote the first")
	}
	c, err := storage.Open(ctx, copyPath)
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	p, err := c.PollByMessage(ctx, "C0INTERN", ts)
	if err != nil {
		t.Fatal(err)
	}
	if answers, err := c.Answers(ctx, p.ID); err != nil || len(answers) != 10 {
		t.Errorf("the backup has %d answers (%v), want 10", len(answers), err)
	}
	c.Close()

	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("run after cancel: %v\n%s", err, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	// Closed: the last connection checkpointed the WAL into the file and removed it.
	if fi, err := os.Stat(db + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("%s-wal is %d bytes after shutdown: the database was not closed", db, fi.Size())
	}
	var stopped bool
	for _, l := range logLines(t, stderr.String()) {
		stopped = stopped || l["msg"] == "stopped"
	}
	if !stopped {
		t.Errorf("no \"stopped\" log line:\n%s", stderr)
	}
}

// TestBadDatabase: a corrupt file, a directory, or a database from a newer internbot: run and the
// other commands refuse it with a clear error and a non-zero exit, and the file is left as it was.
func TestBadDatabase(t *testing.T) {
	emu := startEmulator(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	{
		db, err := storage.Open(context.Background(), good)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		make  func(path string)
		wants []string
	}{
		{"Garbage", func(p string) { os.WriteFile(p, bytes.Repeat([]byte("not a database "), 500), 0o600) },
			[]string{"not a SQLite database, or corrupt"}},
		{"CorruptHeader", func(p string) {
			b := bytes.Clone(goodBytes)
			copy(b[:16], "SQLite format 4\x00")
			os.WriteFile(p, b, 0o600)
		}, []string{"not a SQLite database, or corrupt"}},
		{"Newer", func(p string) {
			os.WriteFile(p, goodBytes, 0o600)
			db, err := storage.Open(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			insertMigration(t, p)
		}, []string{"newer than this internbot", "9999_future.sql", "upgrade internbot"}},
		{"Directory", func(p string) { os.Mkdir(p, 0o700) }, []string{filepath.Join(dir, "Directory")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			tc.make(path)
			before := snapshot(path)
			for _, args := range [][]string{{"run"}, {"remind"}, {"export"}} {
				var stderr lockedBuffer
				err := run(context.Background(), append([]string{"internbot"}, append(args, "-db", path)...), emuEnv(emu, path).get, nil, &bytes.Buffer{}, &stderr)
				if err == nil || exitCode(err) == 0 {
					t.Fatalf("%s: err = %v, want a non-zero exit", args[0], err)
				}
				for _, want := range tc.wants {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s: error %q lacks %q", args[0], err, want)
					}
				}
			}
			if after := snapshot(path); after != before {
				t.Errorf("the file changed:\nbefore %s\nafter  %s", before, after)
			}
			for _, ext := range []string{"-wal", "-shm", "-journal"} {
				if _, err := os.Stat(path + ext); err == nil {
					t.Errorf("%s%s left behind", tc.name, ext)
				}
			}
		})
	}
}

// snapshot is a file's size and digest or, for a directory, its listing.
func snapshot(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return err.Error()
	}
	if fi.IsDir() {
		entries, _ := os.ReadDir(path)
		return fmt.Sprintf("dir with %d entries", len(entries))
	}
	b, _ := os.ReadFile(path)
	return fmt.Sprintf("%d bytes sha256 %x", len(b), sha256.Sum256(b))
}

// insertMigration records a migration this binary does not know, as a newer internbot would.
func insertMigration(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO migrations (name, applied_at) VALUES ('9999_future.sql', '2030-01-01T00:00:00.000000Z')`); err != nil {
		t.Fatal(err)
	}
}

// TestHelperMain is not a test: TestFullDisk runs the test binary as `internbot` under a file-size
// limit through it.
func TestHelperMain(t *testing.T) {
	if os.Getenv("INTERNBOT_HELPER_MAIN") != "1" {
		t.Skip("helper process only")
	}
	for i, a := range os.Args {
		if a == "--" {
			os.Args = append([]string{"internbot"}, os.Args[i+1:]...)
			break
		}
	}
	main()
}

// TestFullDisk: with a file-size limit of 1 KiB (no room for the WAL index) run cannot open the
// database: it must say so and exit non-zero, leaving the file as it was. SIGXFSZ is ignored so that
// writes fail with EFBIG instead of killing the process, as on a full disk.
func TestFullDisk(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	emu := startEmulator(t)
	path := filepath.Join(t.TempDir(), "internbot.db")
	db, err := storage.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := snapshot(path)

	cmd := exec.Command("bash", "-c", `trap "" XFSZ; ulimit -f 1; exec "$0" "$@"`,
		os.Args[0], "-test.run=^TestHelperMain$", "--", "run", "-db", path)
	cmd.Env = append(os.Environ(), "INTERNBOT_HELPER_MAIN=1")
	for k, v := range emuEnv(emu, path) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("internbot kept running with no room to write\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() <= 0 {
		t.Fatalf("exit: %v, want a non-zero exit status\n%s", err, stderr.String())
	}
	msg := stderr.String()
	if !strings.Contains(msg, "internbot: open db "+path) {
		t.Errorf("stderr lacks a clear error naming the database:\n%s", msg)
	}
	if after := snapshot(path); after != before {
		t.Errorf("the file changed:\nbefore %s\nafter  %s", before, after)
	}
	t.Logf("stderr: %s", msg)
}

const (
	secretBot = "xoxb-SECRETBOT0123456789"
	secretApp = "xapp-SECRETAPP0123456789"
)

// activity runs internbot at debug level through a bad token prefix, invalid_auth, 429s and a
// reconnect, then a reminder with DMs, and returns everything it wrote or returned, and /metrics.
func activity(t *testing.T) (output, metrics string) {
	t.Helper()
	emu := slackemu.New(slackemu.Options{BotToken: secretBot, AppToken: secretApp, PingInterval: time.Second})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	emu.AddUser(slackemu.User{ID: "U0ADMIN", Name: "ada"})
	members := []string{"U0ADMIN", emu.BotUserID()}
	for i := range 3 {
		id := fmt.Sprintf("U%04d", i)
		emu.AddUser(slackemu.User{ID: id, Name: id})
		members = append(members, id)
	}
	emu.AddChannel(slackemu.Channel{ID: "C0INTERN", Name: "internship", Members: members})
	db := filepath.Join(t.TempDir(), "internbot.db")
	var all strings.Builder
	ctx := context.Background()

	// Refused before connecting: a bad prefix, then tokens Slack does not know.
	for _, e := range []env{
		{"SLACK_BOT_TOKEN": "xapp-" + secretBot[5:], "SLACK_APP_TOKEN": secretApp},
		{"SLACK_BOT_TOKEN": secretBot + "x", "SLACK_APP_TOKEN": secretApp},
	} {
		base := emuEnv(emu, db)
		for k, v := range e {
			base[k] = v
		}
		var stderr lockedBuffer
		err := run(ctx, []string{"internbot", "run", "-log-level", "debug"}, base.get, nil, &bytes.Buffer{}, &stderr)
		if err == nil {
			t.Fatal("run with bad tokens succeeded")
		}
		all.WriteString(err.Error() + "\n" + stderr.String())
	}

	// A first run posts the poll through a 429 and collects answers.
	e := adminEnv(t, emu, db)
	e["INTERNBOT_LOG_LEVEL"] = "debug"
	stop, stderr := startBot(t, emu, e)
	emu.Fail("chat.postMessage", slackemu.Failure{Status: 429, RetryAfter: 1})
	ts := pollMessage(t, emu)
	for _, u := range []string{"U0000", "U0001"} {
		if _, err := emu.AddReaction(ctx, u, "C0INTERN", ts, "white_check_mark"); err != nil {
			t.Fatal(err)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	all.WriteString(stderr.String())

	// The second run has a deadline a week away and a schedule whose time has passed today: it
	// posts the reminder and DMs the two yes answers on start.
	day := time.Now().UTC().AddDate(0, 0, 7).Format(time.DateOnly)
	e = adminEnv(t, emu, db, "reminders:\n  schedule: \"0 0 * * *\"\n  days_before: [6, 7, 8]\n  dm: true\n",
		"deadlines:\n  - {name: Apply, date: "+day+"}\n")
	e["INTERNBOT_LOG_LEVEL"] = "debug"
	r := startRun(t, e, "-http", "127.0.0.1:0")
	base := httpBase(t, r)
	pollUntil(t, 10*time.Second, "connected", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 }, r.stderr)
	emu.Fail("chat.update", slackemu.Failure{Status: 429, RetryAfter: 1})
	if _, err := emu.AddReaction(ctx, "U0002", "C0INTERN", ts, "x"); err != nil {
		t.Fatal(err)
	}
	// An envelope slack-go cannot parse: acked, and counted as a handler error.
	pd, err := emu.Send(ctx, slackemu.Envelope{Type: "events_api", Payload: json.RawMessage(`"junk"`)})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := pd.Wait(wctx); err != nil {
		t.Fatalf("the bad envelope was not acked: %v", err)
	}
	conns := emu.Connections()
	emu.DropSockets()
	pollUntil(t, 10*time.Second, "a reconnect", func() bool { return emu.Connections() > conns }, r.stderr)
	var body string
	pollUntil(t, 15*time.Second, "the reminder, the DMs and the reconnect in /metrics", func() bool {
		_, body = get(t, base+"/metrics")
		return strings.Contains(body, "internbot_reminder_dms_sent_total 2") &&
			strings.Contains(body, "internbot_socket_reconnects_total 1") &&
			strings.Contains(body, `internbot_slack_api_calls_total{method="chat.update",outcome="ratelimited"} 1`)
	}, r.stderr)
	r.cancel()
	if err := r.wait(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	all.WriteString(r.stderr.String())
	return all.String(), body
}

// TestTokensNeverLogged: neither token appears in any log line, error or metric, even at debug level
// through failures; and run's logs are JSON.
func TestTokensNeverLogged(t *testing.T) {
	out, metrics := activity(t)
	for _, secret := range []string{"SECRETBOT", "SECRETAPP"} {
		if strings.Contains(out, secret) {
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, secret) {
					t.Errorf("a token leaked: %s", line)
				}
			}
		}
		if strings.Contains(metrics, secret) {
			t.Errorf("a token is in /metrics")
		}
	}
	for _, want := range []string{`"level":"DEBUG"`, "slack web api call will be retried", "socket mode connected", "invalid_auth"} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs lack %s: not the run this test means", want)
		}
	}
}

// TestMetrics scrapes /metrics after some activity: each family is there with plausible values.
func TestMetrics(t *testing.T) {
	_, body := activity(t)
	for _, want := range []string{
		`internbot_envelopes_received_total{type="events_api"}`,
		`internbot_envelopes_acked_total{type="events_api"} 1`,
		`internbot_ack_latency_seconds_bucket{type="events_api",le="+Inf"} 1`,
		`internbot_ack_latency_seconds_count{type="events_api"} 1`,
		`internbot_slack_api_calls_total{method="chat.update",outcome="ratelimited"} 1`,
		`internbot_slack_api_calls_total{method="chat.postMessage",outcome="ok"} 3`,
		`internbot_slack_api_calls_total{method="auth.test",outcome="ok"} 1`,
		"internbot_socket_connections_total 2",
		"internbot_socket_reconnects_total 1",
		"internbot_reaction_events_recorded_total 1",
		"internbot_reminders_posted_total 1",
		"internbot_reminder_dms_sent_total 2",
		`internbot_handler_errors_total{kind="bad_message"} 1`,
		"internbot_panics_recovered_total 0",
		"internbot_socket_connected 1",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLines(body, "internbot_"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestAppTokenMissingScopeExits: an app-level token without connections:write gets missing_scope from
// apps.connections.open. Retrying cannot fix that, so the binary exits non-zero at once with a
// message naming the token and the scope, instead of retrying forever while looking healthy.
func TestAppTokenMissingScopeExits(t *testing.T) {
	emu := startEmulator(t)
	emu.Fail("apps.connections.open", slackemu.Failure{Error: "missing_scope", Times: 1000})
	cmd := exec.Command(internbotBinary(t), "run")
	for k, v := range emuEnv(emu, filepath.Join(t.TempDir(), "internbot.db")) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Fatalf("internbot exited with %v, want a non-zero status\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("internbot still running 10 s after apps.connections.open said missing_scope (%d calls)\n%s",
			emu.Calls("apps.connections.open"), stderr.String())
	}
	last := grepLines(stderr.String(), "internbot: ")
	for _, want := range []string{"missing_scope", "SLACK_APP_TOKEN", "connections:write"} {
		if !strings.Contains(last, want) {
			t.Errorf("the exit message %q lacks %q", last, want)
		}
	}
}

// TestHealthzWhileExitingOnMissingScope: the app-level token stops being accepted mid-run
// (missing_scope on the reconnect) while a slash command is still being answered. Until the process
// has drained and exited, /healthz must not say it is healthy.
func TestHealthzWhileExitingOnMissingScope(t *testing.T) {
	emu := startEmulator(t)
	emu.AddUser(slackemu.User{ID: "U0ADMIN", Name: "ada", IsAdmin: true})
	r := startRun(t, emuEnv(emu, filepath.Join(t.TempDir(), "internbot.db")), "-http", "127.0.0.1:0")
	base := httpBase(t, r)
	pollUntil(t, 10*time.Second, "/readyz 200", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 }, r.stderr)

	// A command in flight: the admin check's users.info answers only after 4 s.
	emu.Fail("users.info", slackemu.Failure{Delay: 4 * time.Second})
	go emu.SlashCommand(context.Background(), "U0ADMIN", "C0INTERN", "/internship", "poll")
	pollUntil(t, 5*time.Second, "the command's users.info", func() bool { return emu.Calls("users.info") > 0 }, r.stderr)

	emu.Fail("apps.connections.open", slackemu.Failure{Error: "missing_scope", Times: 1000})
	emu.DropSockets()
	var code int
	var body string
	pollUntil(t, 5*time.Second, "/healthz to stop saying 200", func() bool {
		code, body = get(t, base+"/healthz")
		return code != 200
	}, r.stderr)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "SLACK_APP_TOKEN") {
		t.Errorf("/healthz = %d %q, want 503 naming SLACK_APP_TOKEN", code, body)
	}
	err := r.wait(t, 10*time.Second)
	if err == nil || exitCode(err) == 0 || !strings.Contains(err.Error(), "missing_scope") {
		t.Fatalf("run = %v (exit %d), want missing_scope and a non-zero exit", err, exitCode(err))
	}
}

// TestRunWaitsForTheHTTPServer: when run returns, the health and metrics server has stopped and none
// of its goroutines (nor one of run's own waiting on it) is left, even with a client connected that
// has sent nothing (a connection http.Server's Shutdown waits for).
func TestRunWaitsForTheHTTPServer(t *testing.T) {
	emu := startEmulator(t)
	r := startRun(t, emuEnv(emu, filepath.Join(t.TempDir(), "internbot.db")), "-http", "127.0.0.1:0")
	base := httpBase(t, r)
	pollUntil(t, 10*time.Second, "/readyz 200", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 }, r.stderr)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r.cancel()
	if err := r.wait(t, 10*time.Second); err != nil {
		t.Fatalf("run: %v", err)
	}
	if left := goroutinesIn("internbot/ops.", "main.runBot"); left != "" {
		t.Errorf("goroutines left after run returned:\n%s", left)
	}
}

// goroutinesIn is the stacks of the goroutines (other than the caller's) with a frame whose function
// name contains one of names.
func goroutinesIn(names ...string) string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 {
			continue // this goroutine
		}
		for _, n := range names {
			if strings.Contains(g, n) {
				left = append(left, g)
				break
			}
		}
	}
	return strings.Join(left, "\n\n")
}
