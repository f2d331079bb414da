package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

// fileHits counts the occurrences of s in each of the database's files that exist.
func fileHits(t *testing.T, db, s string) map[string]int {
	t.Helper()
	hits := map[string]int{}
	for _, p := range []string{db, db + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil {
			if !os.IsNotExist(err) {
				t.Fatal(err)
			}
			continue
		}
		hits[filepath.Base(p)] = bytes.Count(b, []byte(s))
	}
	return hits
}

func totalHits(h map[string]int) int {
	n := 0
	for _, v := range h {
		n += v
	}
	return n
}

// TestForgetLeavesNoBytes: after `/internship forget`, the user's id is in neither the database file
// nor its WAL, while the bot runs (right after the reply) and after a clean stop. The user answered,
// changed their answer, turned reminders off and was in the raw event log; other users' rows churn
// around theirs so that their cells move between pages.
func TestForgetLeavesNoBytes(t *testing.T) {
	const who = "U0FORGETME"
	emu := startEmulator(t)
	emu.AddUser(slackemu.User{ID: who, Name: "forgetme"})
	emu.SetMember("C0INTERN", who, true)
	db := filepath.Join(t.TempDir(), "internbot.db")
	stop, stderr := startBot(t, emu, adminEnv(t, emu, db))
	ts := pollMessage(t, emu)
	ctx := context.Background()

	react := func(user, name string, add bool) {
		t.Helper()
		var err error
		if add {
			_, err = emu.AddReaction(ctx, user, "C0INTERN", ts, name)
		} else {
			_, err = emu.RemoveReaction(ctx, user, "C0INTERN", ts, name)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		react(fmt.Sprintf("U%04d", i), "white_check_mark", true)
		if i == 10 {
			react(who, "thinking_face", true)
			react(who, "white_check_mark", true)
			react(who, "thinking_face", false)
		}
	}
	for i := range 20 {
		react(fmt.Sprintf("U%04d", i), "x", true)
	}
	for _, text := range []string{"remind off", "me"} {
		if _, err := emu.SlashCommand(ctx, who, "C0INTERN", "/internship", text); err != nil {
			t.Fatal(err)
		}
	}
	if h := fileHits(t, db, who); totalHits(h) == 0 {
		t.Fatalf("the user is not in the files before forget (%v): not the test this means", h)
	}

	ack, err := emu.SlashCommand(ctx, who, "C0INTERN", "/internship", "forget")
	if err != nil || !strings.Contains(string(ack.Payload), "deleted everything") {
		t.Fatalf("forget: %v %s", err, ack.Payload)
	}
	if h := fileHits(t, db, who); totalHits(h) != 0 {
		t.Errorf("while running, after forget, the user id is still in the files: %v", h)
	}
	// More activity after the forget must not bring old pages back.
	for i := range 20 {
		react(fmt.Sprintf("U%04d", i), "x", false)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if h := fileHits(t, db, who); totalHits(h) != 0 {
		t.Errorf("after a clean stop, the user id is still in the files: %v", h)
	}
}

// smallDisk mounts a tmpfs of size bytes on a new directory, for a disk that fills up; it skips the test
// where mounting is not permitted (not root). The mount goes away when the test ends.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a small tmpfs to fill up (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir that takes all but leave bytes of its free space.
func fill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail)*int64(st.Bsize) - leave
	path := filepath.Join(dir, "filler")
	if err := os.WriteFile(path, make([]byte, max(free, 0)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestBackupFailureLeavesNothing: a backup into a directory that fills up fails with a clear error and
// leaves no file behind (not an empty one, not a half copy); once there is room, the same command
// succeeds and the copy holds the answers.
func TestBackupFailureLeavesNothing(t *testing.T) {
	emu := startEmulator(t)
	db := filepath.Join(t.TempDir(), "internbot.db")
	stop, stderr := startBot(t, emu, adminEnv(t, emu, db))
	defer stop()
	ts := pollMessage(t, emu)
	ctx := context.Background()
	for i := range 20 {
		if _, err := emu.AddReaction(ctx, fmt.Sprintf("U%04d", i), "C0INTERN", ts, "white_check_mark"); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	dir := smallDisk(t, 4<<20)
	filler := fill(t, dir, fi.Size()/2)
	dst := filepath.Join(dir, "backup.db")
	backup := func() error {
		return run(ctx, []string{"internbot", "backup", "-db", db, dst}, env{}.get, nil, &bytes.Buffer{}, &bytes.Buffer{})
	}
	err = backup()
	if err == nil {
		t.Fatal("the backup succeeded on a full disk: not the test this means")
	}
	t.Logf("backup on a full disk: %v", err)
	if !strings.Contains(err.Error(), "backup to "+dst) {
		t.Errorf("error %q does not name the destination", err)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("the failed backup left files behind: %q", names)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := backup(); err != nil {
		t.Fatalf("the retry with room to write: %v\n%s", err, stderr)
	}
	c, err := storage.Open(ctx, dst)
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	defer c.Close()
	p, err := c.PollByMessage(ctx, "C0INTERN", ts)
	if err != nil {
		t.Fatal(err)
	}
	if answers, err := c.Answers(ctx, p.ID); err != nil || len(answers) != 20 {
		t.Errorf("the backup has %d answers (%v), want 20", len(answers), err)
	}
	if err := backup(); err == nil || !errors.Is(err, fs.ErrExist) {
		t.Errorf("a backup over an existing file: %v, want it refused", err)
	}
}

// TestSecondRunRefused, with the built binary: a second `internbot run` (or `console`) on a database a
// running bot serves exits at once, non-zero, naming the holder's host and pid, and never connects;
// export, backup and remind work beside the running bot; and once the first is killed with SIGKILL the
// lock is free again.
func TestSecondRunRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := internbotBinary(t)
	emu := startEmulator(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "internbot.db")
	e := adminEnv(t, emu, db)
	e["INTERNBOT_LOG_LEVEL"] = "warn"
	first := startChild(t, emu, bin, e)
	ts := pollMessage(t, emu)
	if _, err := emu.AddReaction(context.Background(), "U0001", "C0INTERN", ts, "white_check_mark"); err != nil {
		t.Fatal(err)
	}

	runBin := func(args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		for k, v := range e {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdin = strings.NewReader("")
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("internbot %s still running after 15 s:\n%s", args[0], out)
		}
		return string(out), err
	}
	host, _ := os.Hostname()
	conns := emu.Connections()
	for _, args := range [][]string{{"run"}, {"console", "-db", db}} {
		out, err := runBin(args...)
		if err == nil {
			t.Fatalf("a second internbot %s on the same database succeeded:\n%s", args[0], out)
		}
		for _, want := range []string{"in use", db, "host " + host, fmt.Sprintf("pid %d", first.cmd.Process.Pid)} {
			if !strings.Contains(out, want) {
				t.Errorf("internbot %s: the refusal lacks %q:\n%s", args[0], want, out)
			}
		}
	}
	if n := emu.Connections(); n != conns {
		t.Errorf("a refused run connected to Slack (%d connections, want %d)", n, conns)
	}

	if out, err := runBin("export", "-db", db); err != nil || !strings.Contains(out, "U0001") {
		t.Errorf("export beside the running bot: %v\n%s", err, out)
	}
	if out, err := runBin("backup", "-db", db, filepath.Join(dir, "copy.db")); err != nil {
		t.Errorf("backup beside the running bot: %v\n%s", err, out)
	}
	if out, err := runBin("remind", "-db", db); err != nil {
		t.Errorf("remind beside the running bot: %v\n%s", err, out)
	}

	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.done
	second := startChild(t, emu, bin, e) // fails the test if it does not connect
	second.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-second.done; err != nil {
		t.Errorf("the run after the first was killed: %v\n%s", err, second.stderr)
	}
}

// TestReadyzFullDisk: with the database on a disk that fills up while the bot runs, /readyz turns 503
// and says why once commits fail (here: reactions from new users need room the disk no longer has),
// and 200 again once there is room.
func TestReadyzFullDisk(t *testing.T) {
	emu := startEmulator(t)
	db := filepath.Join(smallDisk(t, 4<<20), "internbot.db")
	r := startRun(t, adminEnv(t, emu, db), "-http", "127.0.0.1:0")
	base := httpBase(t, r)
	pollUntil(t, 10*time.Second, "/readyz 200", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 }, r.stderr)
	ts := pollMessage(t, emu)

	filler := fill(t, filepath.Dir(db), 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 3000 {
		if _, err := emu.Send(ctx, emu.ReactionEvent(fmt.Sprintf("UFULL%05d", i), "C0INTERN", ts, "white_check_mark", true)); err != nil {
			t.Fatal(err)
		}
	}
	var body string
	pollUntil(t, 20*time.Second, "/readyz 503 on a full disk", func() bool {
		var code int
		code, body = get(t, base+"/readyz")
		return code == 503
	}, r.stderr)
	if !strings.Contains(body, "database: ") || !strings.Contains(body, "full") {
		t.Errorf("/readyz body on a full disk = %q, want the database's reason", body)
	}
	t.Logf("/readyz on a full disk: %s", body)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, 20*time.Second, "/readyz 200 with room again", func() bool {
		code, b := get(t, base+"/readyz")
		body = b
		return code == 200
	}, r.stderr)
	cancel()
	r.cancel()
	if err := r.wait(t, 10*time.Second); err != nil {
		t.Fatalf("run: %v", err)
	}
}
