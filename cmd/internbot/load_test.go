package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it under load")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool to build the bot with")
	}
	bin := filepath.Join(t.TempDir(), "internbot")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "internbot-load-*"))

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"Child", []string{"-bin", bin}},
		{"InProcess", []string{"-inprocess"}},
		// Only /internship details, the command the posting answers in full.
		{"DetailsOnly", []string{"-bin", bin, "-command-text", "details"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			var stdout, stderr lockedBuffer
			args := append([]string{"internbot", "load", "-events", "400", "-commands", "40", "-outstanding", "16", "-users", "50", "-timeout", "60s"}, tc.args...)
			if err := run(ctx, args, env{}.get, nil, &stdout, &stderr); err != nil {
				t.Fatalf("load: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			out := stdout.String()
			t.Logf("\n%s", out)
			if tc.name == "DetailsOnly" && !strings.Contains(out, `slash commands: "/internship details"`) {
				t.Errorf("output does not say the commands were all /internship details")
			}
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`acked 440 of 440 envelopes in [0-9.]+s: \d+ acked envelopes/s`),
				regexp.MustCompile(`events_api +acked +400 +ack p50 .* errors 0`),
				regexp.MustCompile(`slash_commands +acked +40 +ack p50 .* errors 0`),
				regexp.MustCompile(`VmHWM [0-9.]+ MB`),
				regexp.MustCompile(`bot log: \d+ warnings, 0 errors`),
				// 400 events over 50 users is 8 each: add, remove, add, remove… ends with none.
				regexp.MustCompile(`stored answers: 0 users answered the poll`),
			} {
				if !want.MatchString(out) {
					t.Errorf("output lacks %s", want)
				}
			}
		})
	}

	// -compare: the same driver against the ack-only peer (a child process too, "BIN ack-peer"), then
	// the bot, twice; every run must ack every envelope, and the ratio is printed. No timing is asserted.
	t.Run("Compare", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		var stdout, stderr lockedBuffer
		args := []string{"internbot", "load", "-bin", bin, "-compare", "-rounds", "2",
			"-events", "300", "-commands", "30", "-outstanding", "16", "-users", "50", "-timeout", "60s"}
		if err := run(ctx, args, env{}.get, nil, &stdout, &stderr); err != nil {
			t.Fatalf("load: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		out := stdout.String()
		t.Logf("\n%s", out)
		for _, want := range []struct {
			re    *regexp.Regexp
			count int
		}{
			{regexp.MustCompile(`(?m)^== round [12] of 2: ack-only peer ==\ninternbot load: ack-only peer pid \d+ \(.* ack-peer\)`), 2},
			{regexp.MustCompile(`(?m)^== round [12] of 2: bot ==\ninternbot load: bot pid \d+ \(.* run\)`), 2},
			{regexp.MustCompile(`acked 330 of 330 envelopes in [0-9.]+s: \d+ acked envelopes/s`), 4},
			{regexp.MustCompile(`events_api +acked +300 +ack p50 .* errors 0`), 4},
			{regexp.MustCompile(`slash_commands +acked +30 +ack p50 .* errors 0`), 4},
			{regexp.MustCompile(`ack-only peer log: \d+ warnings, 0 errors`), 2},
			{regexp.MustCompile(`(?m)^bot log: \d+ warnings, 0 errors`), 2},
			{regexp.MustCompile(`stored answers: \d+ users answered the poll`), 2},
			{regexp.MustCompile(`(?m)^  [12] +\d+ +\d+ +\d+\.\d\d +\S+ / \S+ +\S+ / \S+$`), 2},
			{regexp.MustCompile(`(?m)^median bot/peer rate over 2 rounds: \d+\.\d\d `), 1},
		} {
			if n := len(want.re.FindAllString(out, -1)); n != want.count {
				t.Errorf("output has %d of %s, want %d", n, want.re, want.count)
			}
		}
	})

	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "internbot-load-*"))
	if len(after) > len(before) {
		t.Errorf("temporary files left behind: %s", strings.Join(after, " "))
	}
}

func TestLoadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-events", "0", "-commands", "0"},
		{"-outstanding", "0"},
		{"-bin", "/x", "-inprocess"},
		{"-rounds", "2"},
		{"-compare", "-rounds", "0"},
		{"extra"},
	} {
		var stdout, stderr lockedBuffer
		err := run(context.Background(), append([]string{"internbot", "load"}, args...), env{}.get, nil, &stdout, &stderr)
		if exitCode(err) != 2 {
			t.Errorf("load %v: %v (exit %d), want a usage error", args, err, exitCode(err))
		}
	}
	for _, args := range [][]string{{}, {"extra"}} {
		var stdout, stderr lockedBuffer
		err := run(context.Background(), append([]string{"internbot", "ack-peer"}, args...), env{}.get, nil, &stdout, &stderr)
		if exitCode(err) != 2 {
			t.Errorf("ack-peer %v: %v (exit %d), want a usage error", args, err, exitCode(err))
		}
	}
}
