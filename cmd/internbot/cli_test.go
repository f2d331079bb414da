package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/internbot/internbot/slackemu"
	"github.com/internbot/internbot/storage"
)

// status is the exit status main gives err.
func status(err error) int {
	if err == nil {
		return 0
	}
	return exitCode(err)
}

// TestHelp: -h, --help and help print the command list on stdout and exit 0.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help", "help"} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), []string{"internbot", arg}, env{}.get, nil, &stdout, &stderr)
		if status(err) != 0 {
			t.Errorf("internbot %s: %v (exit %d), want exit 0", arg, err, status(err))
		}
		for _, c := range commandTable() {
			if !strings.Contains(stdout.String(), "  "+c.name) || !strings.Contains(stdout.String(), c.summary) {
				t.Errorf("internbot %s does not list %q:\n%s", arg, c.name, stdout.String())
			}
		}
	}
}

// TestSubcommandHelp: every command's -h exits 0 and says what the command does and its flags.
func TestSubcommandHelp(t *testing.T) {
	for _, c := range commandTable() {
		if c.name == "help" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			for _, h := range []string{"-h", "--help"} {
				var stdout, stderr bytes.Buffer
				err := run(context.Background(), []string{"internbot", c.name, h}, env{}.get, nil, &stdout, &stderr)
				if status(err) != 0 {
					t.Fatalf("internbot %s %s: %v (exit %d), want exit 0", c.name, h, err, status(err))
				}
				help := stdout.String() + stderr.String()
				if !strings.Contains(help, "usage: internbot "+c.name) || !strings.Contains(strings.ToLower(help), strings.ToLower(c.summary)) {
					t.Errorf("internbot %s %s lacks its usage line or purpose:\n%s", c.name, h, help)
				}
				if c.name != "version" && !strings.Contains(help, "flags:\n  -") {
					t.Errorf("internbot %s %s lists no flags:\n%s", c.name, h, help)
				}
			}
		})
	}
}

// TestVersion: version and --version print the module version and build information.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		var stdout bytes.Buffer
		if err := run(context.Background(), []string{"internbot", arg}, env{}.get, nil, &stdout, &bytes.Buffer{}); err != nil {
			t.Fatalf("internbot %s: %v", arg, err)
		}
		if !strings.HasPrefix(stdout.String(), "internbot ") || !strings.Contains(stdout.String(), "go1.") {
			t.Errorf("internbot %s = %q", arg, stdout.String())
		}
	}
	t.Run("Binary", func(t *testing.T) {
		out, err := exec.Command(internbotBinary(t), "version").CombinedOutput()
		if err != nil {
			t.Fatalf("version: %v\n%s", err, out)
		}
		// Go stamps the revision when the module is in a git checkout (a .git directory; not a worktree).
		root, _ := filepath.Abs("../..")
		want := "revision unknown"
		if fi, err := os.Stat(filepath.Join(root, ".git")); err == nil && fi.IsDir() {
			head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
			if err != nil {
				t.Fatalf("git rev-parse: %v", err)
			}
			want = "revision " + strings.TrimSpace(string(head))
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("version = %q, want it to contain %q", out, want)
		}
	})
}

// TestBackupFlagAfterFile: flags after the file name are read (`backup bk.db -db x.db`).
func TestBackupFlagAfterFile(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "x.db"), filepath.Join(dir, "bk.db")
	db, err := storage.Open(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"internbot", "backup", dst, "-db", src}, env{}.get, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("backup FILE -db X: %v", err)
	}
	if !strings.Contains(out.String(), "backed up "+src+" to "+dst) {
		t.Errorf("backup said %q", out.String())
	}
	if _, err := os.Stat(dst); err != nil {
		t.Errorf("no backup: %v", err)
	}
	err = run(context.Background(), []string{"internbot", "backup", dst, "other.db", "-db", src}, env{}.get, nil, &out, &bytes.Buffer{})
	if exitCode(err) != 2 {
		t.Errorf("backup with two files: %v (exit %d), want a usage error", err, exitCode(err))
	}
}

// TestNoDatabaseBeforeSlackAnswers: run and remind create the database file (and its lock file) only
// once Slack has accepted the tokens.
func TestNoDatabaseBeforeSlackAnswers(t *testing.T) {
	for _, cmd := range []string{"run", "remind"} {
		t.Run(cmd, func(t *testing.T) {
			emu := startEmulator(t)
			emu.RevokeTokens()
			db := filepath.Join(t.TempDir(), "x.db")
			err := run(context.Background(), []string{"internbot", cmd}, emuEnv(emu, db).get, nil, &bytes.Buffer{}, &lockedBuffer{})
			if err == nil || !strings.Contains(err.Error(), "invalid_auth") && !strings.Contains(err.Error(), "invalid auth") {
				t.Fatalf("err = %v, want Slack's refusal", err)
			}
			if files, _ := filepath.Glob(db + "*"); len(files) > 0 {
				t.Errorf("files were created: %v", files)
			}
		})
	}
}

// TestLogs: JSON logs show durations readably; remind with nothing due says so.
func TestLogs(t *testing.T) {
	emu := startEmulator(t)
	emu.Fail("auth.test", slackemu.Failure{Status: 500})
	db := filepath.Join(t.TempDir(), "x.db")
	mustCreateDB(t, db)
	e := emuEnv(emu, db)
	var stderr lockedBuffer
	if err := run(context.Background(), []string{"internbot", "remind"}, e.get, nil, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("remind: %v\n%s", err, stderr.String())
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"retry_in":"1s"`) {
		t.Errorf("the retry's wait is not a readable duration:\n%s", logs)
	}
	if !strings.Contains(logs, "no reminder is due today") {
		t.Errorf("remind with nothing due printed nothing about it:\n%s", logs)
	}
}

// TestBuildWithoutCgo: a build without cgo fails first with a message that says what to install.
func TestBuildWithoutCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module without cgo")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go tool: %v", err)
	}
	cmd := exec.Command(goTool, "build", "-o", os.DevNull, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("the build without cgo succeeded")
	}
	var first string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			first = l
			break
		}
	}
	for _, want := range []string{"C compiler", "gcc", "build-essential", "CGO_ENABLED=1"} {
		if !strings.Contains(first, want) {
			t.Errorf("the first error does not say %q: %s\n%s", want, first, out)
		}
	}
}
