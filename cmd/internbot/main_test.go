package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

// env is a fake environment for run.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// lockedBuffer is an io.Writer safe to read while run writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startEmulator(t *testing.T) *slackemu.Server {
	t.Helper()
	emu := slackemu.New(slackemu.Options{PingInterval: time.Second})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	emu.AddUser(slackemu.User{ID: "U0ADMIN", Name: "ada"})
	members := []string{"U0ADMIN", emu.BotUserID()}
	for i := range 20 {
		id := fmt.Sprintf("U%04d", i)
		emu.AddUser(slackemu.User{ID: id, Name: id})
		members = append(members, id)
	}
	emu.AddChannel(slackemu.Channel{ID: "C0INTERN", Name: "internship", Members: members})
	return emu
}

func emuEnv(emu *slackemu.Server, db string) env {
	return env{
		"SLACK_BOT_TOKEN": emu.BotToken(),
		"SLACK_APP_TOKEN": emu.AppToken(),
		"SLACK_API_URL":   emu.APIURL(),
		"INTERNBOT_DB":    db,
	}
}

func TestTokens(t *testing.T) {
	emu := startEmulator(t)
	db := filepath.Join(t.TempDir(), "x.db")
	for _, tc := range []struct {
		name, unset, key, value, want string
	}{
		{name: "ErrBotTokenMissing", unset: "SLACK_BOT_TOKEN", want: "SLACK_BOT_TOKEN is not set"},
		{name: "ErrAppTokenMissing", unset: "SLACK_APP_TOKEN", want: "SLACK_APP_TOKEN is not set"},
		{name: "ErrBotTokenPrefix", key: "SLACK_BOT_TOKEN", value: "xapp-1-secretsecret", want: `SLACK_BOT_TOKEN must start with "xoxb-"`},
		{name: "ErrAppTokenPrefix", key: "SLACK_APP_TOKEN", value: "xoxb-secretsecret", want: `SLACK_APP_TOKEN must start with "xapp-"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := emuEnv(emu, db)
			delete(e, tc.unset)
			if tc.key != "" {
				e[tc.key] = tc.value
			}
			var stderr lockedBuffer
			err := run(context.Background(), []string{"internbot", "run"}, e.get, strings.NewReader(""), &bytes.Buffer{}, &stderr)
			if err == nil || exitCode(err) != 2 {
				t.Fatalf("err = %v (exit %d), want exit 2", err, exitCode(err))
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error = %q, want one line containing %q", err, tc.want)
			}
			if strings.Contains(err.Error()+stderr.String(), "secretsecret") {
				t.Errorf("a token leaked: %q", err)
			}
			if n := emu.Calls("auth.test") + emu.Calls("apps.connections.open"); n != 0 {
				t.Errorf("%d connection attempts with bad tokens", n)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the database was created: %v", err)
			}
		})
	}
}

func TestRevokedTokenExits(t *testing.T) {
	emu := startEmulator(t)
	emu.RevokeTokens()
	err := run(context.Background(), []string{"internbot"}, emuEnv(emu, filepath.Join(t.TempDir(), "x.db")).get, strings.NewReader(""), &bytes.Buffer{}, &lockedBuffer{})
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("err = %v, want invalid_auth", err)
	}
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	t.Run("OK", func(t *testing.T) {
		var out bytes.Buffer
		e := env{"SLACK_BOT_TOKEN": "xoxb-1234-abcdefghijk"}
		if err := run(context.Background(), []string{"internbot", "check-config"}, e.get, nil, &out, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"configuration OK", "timezone: UTC", "white_check_mark", "0 9 * * *"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
		if strings.Contains(out.String(), "abcdefghijk") {
			t.Errorf("token not masked:\n%s", out.String())
		}
	})
	t.Run("ErrBadConfig", func(t *testing.T) {
		path := filepath.Join(dir, "bad.yaml")
		os.WriteFile(path, []byte("timezone: Mars/Olympus\nreminders:\n  schedule: \"CRON_TZ=UTC 0 9 * * *\"\n"), 0o600)
		var out bytes.Buffer
		err := run(context.Background(), []string{"internbot", "check-config", "-config", path}, env{}.get, nil, &out, &bytes.Buffer{})
		if exitCode(err) != 1 {
			t.Fatalf("exit %d, want 1 (err %v)", exitCode(err), err)
		}
		for _, want := range []string{path + ":1: timezone", path + ":3: reminders.schedule"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})
	t.Run("ErrMissingFile", func(t *testing.T) {
		err := run(context.Background(), []string{"internbot", "check-config", "-config", filepath.Join(dir, "nope.yaml")}, env{}.get, nil, &bytes.Buffer{}, &bytes.Buffer{})
		if exitCode(err) != 1 || !strings.Contains(err.Error(), "nope.yaml") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestUnknownCommand(t *testing.T) {
	err := run(context.Background(), []string{"internbot", "frobnicate"}, env{}.get, nil, &bytes.Buffer{}, &bytes.Buffer{})
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "frobnicate") {
		t.Fatalf("err = %v", err)
	}
}

// runBot starts `internbot run` in the background against emu and returns a stop function.
func startBot(t *testing.T, emu *slackemu.Server, e env, args ...string) (stop func() error, stderr *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &lockedBuffer{}
	done := make(chan error, 1)
	before := emu.Connections()
	go func() {
		done <- run(ctx, append([]string{"internbot", "run"}, args...), e.get, strings.NewReader(""), &bytes.Buffer{}, stderr)
	}()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := emu.WaitConnections(wctx, before+1); err != nil {
		cancel()
		t.Fatalf("bot did not connect: %v\n%s", err, stderr)
	}
	return func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("run did not return within 15s of cancel")
		}
	}, stderr
}

func TestExportWhileRunning(t *testing.T) {
	emu := startEmulator(t)
	db := filepath.Join(t.TempDir(), "internbot.db")
	e := emuEnv(emu, db)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("admins: [U0ADMIN]\npoll:\n  options:\n    - {reaction: white_check_mark, answer: \"=yes\"}\n    - {reaction: x, answer: \"no\"}\n"), 0o600)
	e["INTERNBOT_CONFIG"] = cfg
	stop, stderr := startBot(t, emu, e)
	ctx := context.Background()

	ack, err := emu.SlashCommand(ctx, "U0ADMIN", "C0INTERN", "/internship", "poll")
	if err != nil || !strings.Contains(string(ack.Payload), "Posted the poll") {
		t.Fatalf("poll: %v %s\n%s", err, ack.Payload, stderr)
	}
	var pollTS string
	for _, m := range emu.Messages("C0INTERN") {
		if m.User == emu.BotUserID() && strings.Contains(m.Text, "Are you applying") {
			pollTS = m.TS
		}
	}
	for _, u := range []string{"U0003", "U0001", "U0002"} {
		if _, err := emu.AddReaction(ctx, u, "C0INTERN", pollTS, "white_check_mark"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := emu.AddReaction(ctx, "U0002", "C0INTERN", pollTS, "x"); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"internbot", "export", "-db", db}, env{}.get, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("export while running: %v", err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != "poll_channel,poll_ts,user_id,answer,answered_at" {
		t.Errorf("header = %q", got)
	}
	if len(rows) != 4 {
		t.Fatalf("rows = %q", rows)
	}
	for i, want := range [][]string{{"U0001", "'=yes"}, {"U0002", "no"}, {"U0003", "'=yes"}} {
		r := rows[i+1]
		if r[0] != "C0INTERN" || r[1] != pollTS || r[2] != want[0] || r[3] != want[1] {
			t.Errorf("row %d = %q, want user %s answer %s", i+1, r, want[0], want[1])
		}
		if _, err := time.Parse(time.RFC3339, r[4]); err != nil || !strings.HasSuffix(r[4], "Z") {
			t.Errorf("answered_at %q is not RFC 3339 UTC", r[4])
		}
	}

	out.Reset()
	if err := run(ctx, []string{"internbot", "export", "-db", db, "-poll", "C0INTERN/" + pollTS}, env{}.get, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("export -poll: %v", err)
	}
	if strings.Count(out.String(), "\n") != 4 {
		t.Errorf("export -poll:\n%s", out.String())
	}
	if err := run(ctx, []string{"internbot", "export", "-db", db, "-poll", "junk"}, env{}.get, nil, &out, &bytes.Buffer{}); exitCode(err) != 2 {
		t.Errorf("export -poll junk: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
}

func TestRemindCommand(t *testing.T) {
	emu := startEmulator(t)
	db := filepath.Join(t.TempDir(), "internbot.db")
	e := emuEnv(emu, db)
	delete(e, "SLACK_APP_TOKEN") // the Web API is all `remind` needs
	in3 := time.Now().UTC().AddDate(0, 0, 3).Format("2006-01-02")
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(cfg, []byte("channel: C0INTERN\nreminders:\n  days_before: [3]\ndeadlines:\n  - {name: Apply, date: "+in3+"}\n"), 0o600)
	e["INTERNBOT_CONFIG"] = cfg
	// Not the bot's database (none there): reminders recorded in a new one would be posted again by
	// the bot, which does not see them.
	if err := run(context.Background(), []string{"internbot", "remind"}, e.get, nil, &bytes.Buffer{}, &lockedBuffer{}); err == nil || !strings.Contains(err.Error(), "internbot run") {
		t.Fatalf("remind with no database: %v, want a refusal that says run creates it", err)
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) || len(emu.Messages("C0INTERN")) > 0 {
		t.Fatalf("remind with no database created it (%v) or posted", err)
	}
	mustCreateDB(t, db)
	for range 2 {
		if err := run(context.Background(), []string{"internbot", "remind"}, e.get, nil, &bytes.Buffer{}, &lockedBuffer{}); err != nil {
			t.Fatalf("remind: %v", err)
		}
	}
	var posts []string
	for _, m := range emu.Messages("C0INTERN") {
		if m.User == emu.BotUserID() {
			posts = append(posts, m.Text)
		}
	}
	if len(posts) != 1 || !strings.Contains(posts[0], "*Apply*") || !strings.Contains(posts[0], "3 days left") {
		t.Fatalf("posts after two `internbot remind` runs: %q, want one saying 3 days left", posts)
	}
	delete(e, "SLACK_BOT_TOKEN")
	if err := run(context.Background(), []string{"internbot", "remind"}, e.get, nil, &bytes.Buffer{}, &lockedBuffer{}); exitCode(err) != 2 {
		t.Fatalf("remind without a bot token: %v", err)
	}
}

// TestRemindUndeliverableDM: one "yes" voter has been deactivated, so a DM to them can never be
// delivered (conversations.open answers user_disabled). `internbot remind` records that DM as failed
// with Slack's reason, sends the others, says what it did and what failed, and exits 0; a later run
// the same day neither retries it nor fails.
func TestRemindUndeliverableDM(t *testing.T) {
	emu := startEmulator(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "internbot.db")
	e := emuEnv(emu, db)
	delete(e, "SLACK_APP_TOKEN")
	in3 := time.Now().UTC().AddDate(0, 0, 3).Format("2006-01-02")
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("channel: C0INTERN\nreminders:\n  days_before: [3]\n  dm: true\ndeadlines:\n  - {name: Apply, date: "+in3+"}\n"), 0o600)
	e["INTERNBOT_CONFIG"] = cfg

	// Three people answered yes on the channel's poll; then U0002 was deactivated.
	ctx := context.Background()
	pollTS, err := emu.PostAsUser(emu.BotUserID(), "C0INTERN", "Are you applying?")
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := storage.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sdb.CreatePoll(ctx, internbot.Poll{Channel: "C0INTERN", TS: pollTS, Question: "Are you applying?", CreatedBy: "U0ADMIN",
		Options: []internbot.PollOption{{Reaction: "white_check_mark", Answer: "yes"}, {Reaction: "x", Answer: "no"}}})
	if err != nil {
		t.Fatal(err)
	}
	var evs []internbot.ReactionEvent
	for _, u := range []string{"U0001", "U0002", "U0003"} {
		evs = append(evs, internbot.ReactionEvent{PollID: p.ID, User: u, Reaction: "white_check_mark", Added: true})
	}
	if _, err := sdb.ApplyReactions(ctx, evs); err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	emu.AddUser(slackemu.User{ID: "U0002", Name: "U0002", Deleted: true})

	var out bytes.Buffer
	if err := run(ctx, []string{"internbot", "remind"}, e.get, nil, &out, &lockedBuffer{}); err != nil {
		t.Fatalf("remind = %v (exit %d), want exit 0: an undeliverable DM is not a failed run\n%s", err, exitCode(err), out.String())
	}
	for _, want := range []string{"posted", "Apply", "DMs sent: 2", "U0002", "user_disabled"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("remind's output lacks %q:\n%s", want, out.String())
		}
	}
	for _, u := range []string{"U0001", "U0003"} {
		if im := emu.IMChannel(u); im == "" || len(emu.Messages(im)) != 1 {
			t.Errorf("%s did not get exactly one DM", u)
		}
	}
	sdb, err = storage.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	dms, err := sdb.DMs(ctx, "Apply", time.Now().UTC().Format("2006-01-02"))
	sdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, dm := range dms {
		want := internbot.DMSent
		if dm.User == "U0002" {
			want = internbot.DMFailed
			if !strings.Contains(dm.LastError, "user_disabled") {
				t.Errorf("U0002's DM error = %q, want Slack's reason", dm.LastError)
			}
		}
		if dm.State != want {
			t.Errorf("DM to %s is %q, want %q", dm.User, dm.State, want)
		}
	}

	opens := emu.Calls("conversations.open")
	out.Reset()
	if err := run(ctx, []string{"internbot", "remind"}, e.get, nil, &out, &lockedBuffer{}); err != nil {
		t.Fatalf("second remind = %v, want exit 0", err)
	}
	if got := emu.Calls("conversations.open") - opens; got != 0 {
		t.Errorf("the second run called conversations.open %d times; the undeliverable DM was retried", got)
	}
}

// TestRunRaisesGCPercent: `internbot run` collects garbage at GOGC=400 unless the operator set GOGC,
// and puts the setting back when it returns.
func TestRunRaisesGCPercent(t *testing.T) {
	gcPercent := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	if gcPercent() != 100 {
		t.Skip("GOGC is set for the test process")
	}
	emu := startEmulator(t)
	stop, stderr := startBot(t, emu, emuEnv(emu, filepath.Join(t.TempDir(), "internbot.db")))
	if got := gcPercent(); got != runGCPercent {
		t.Errorf("GC percent while running = %d, want %d", got, runGCPercent)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if got := gcPercent(); got != 100 {
		t.Errorf("GC percent after run = %d, want 100", got)
	}
}

// mustCreateDB creates the bot's database at path, as `internbot run` does on its first start.
func mustCreateDB(t *testing.T, path string) {
	t.Helper()
	db, err := storage.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
