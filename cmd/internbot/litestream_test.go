package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestLitestreamReplica: the bot runs under a reaction load (with a forget in the middle, whose WAL
// truncation Litestream's read transaction blocks) while Litestream replicates the database to a file
// replica; both stop; a restore into a new file exports exactly what the original exports.
func TestLitestreamReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary and litestream")
	}
	ls, err := exec.LookPath("litestream")
	if err != nil {
		t.Skip("litestream is not on PATH (.ci/run installs it: go install github.com/benbjohnson/litestream/cmd/litestream@v0.5.18)")
	}
	bin := internbotBinary(t)
	emu := startEmulator(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "internbot.db")
	// The recipe in the repository, as an operator would use it, with a file replica.
	cfg, err := filepath.Abs("../../deploy/litestream.yml")
	if err != nil {
		t.Fatal(err)
	}
	replica := filepath.Join(dir, "replica")
	lsEnv := append(os.Environ(), "INTERNBOT_DB="+db, "LITESTREAM_REPLICA_URL=file://"+replica)
	e := adminEnv(t, emu, db)
	e["INTERNBOT_LOG_LEVEL"] = "warn"
	bot := startChild(t, emu, bin, e)
	ts := pollMessage(t, emu)

	var lsOut lockedBuffer
	lsCmd := exec.Command(ls, "replicate", "-config", cfg)
	lsCmd.Env = lsEnv
	lsCmd.Stdout, lsCmd.Stderr = &lsOut, &lsOut
	if err := lsCmd.Start(); err != nil {
		t.Fatal(err)
	}
	lsDone := make(chan error, 1)
	go func() { lsDone <- lsCmd.Wait() }()
	t.Cleanup(func() {
		if lsCmd.ProcessState == nil {
			lsCmd.Process.Kill()
			<-lsDone
		}
	})
	pollUntil(t, 10*time.Second, "litestream's first sync", func() bool {
		entries, _ := os.ReadDir(replica)
		return len(entries) > 0
	}, &lsOut)

	if _, err := emu.AddReaction(context.Background(), "ULSFORGET", "C0INTERN", ts, "x"); err != nil {
		t.Fatal(err)
	}
	// The load: 8 clients, 40 users each adding and removing answers.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	options := []string{"white_check_mark", "thinking_face", "x"}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 150 {
				user := fmt.Sprintf("ULS%d%03d", c, i%40)
				opt := options[(i/40+c)%3]
				var err error
				if i%7 == 6 {
					_, err = emu.RemoveReaction(ctx, user, "C0INTERN", ts, opt)
				} else {
					_, err = emu.AddReaction(ctx, user, "C0INTERN", ts, opt)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
		if c == 4 {
			if ack, err := emu.SlashCommand(ctx, "ULSFORGET", "C0INTERN", "/internship", "forget"); err != nil || !strings.Contains(string(ack.Payload), "deleted everything") {
				t.Errorf("forget under litestream: %v %s", err, ack.Payload)
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("reaction load: %v", err)
	}

	if err := bot.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-bot.done; err != nil {
		t.Fatalf("internbot run: %v\n%s", err, bot.stderr)
	}
	if err := lsCmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lsDone:
	case <-time.After(30 * time.Second):
		t.Fatalf("litestream did not stop\n%s", &lsOut)
	}

	restored := filepath.Join(t.TempDir(), "restored.db")
	restore := exec.Command(ls, "restore", "-config", cfg, "-o", restored, db)
	restore.Env = lsEnv
	if out, err := restore.CombinedOutput(); err != nil {
		t.Fatalf("litestream restore: %v\n%s", err, out)
	}
	export := func(path string) string {
		t.Helper()
		var out, stderr bytes.Buffer
		cmd := exec.Command(bin, "export", "-db", path)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("export %s: %v\n%s", path, err, stderr.String())
		}
		return out.String()
	}
	orig, back := export(db), export(restored)
	if n := strings.Count(orig, "\n"); n < 100 {
		t.Fatalf("the original exports %d lines: not the load this test means\n%s", n, orig)
	}
	if orig != back {
		t.Errorf("the restore exports differently from the original:\noriginal %d bytes, restore %d bytes", len(orig), len(back))
	}
	if strings.Contains(orig, "ULSFORGET") {
		t.Errorf("the forgotten user is in the export")
	}
	t.Logf("%d answers exported from both; litestream said:\n%s", strings.Count(orig, "\n")-1, grepLines(lsOut.String(), "level="))
}
