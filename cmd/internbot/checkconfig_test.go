package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkConfig runs `internbot check-config [-config path]` and returns its exit status and output.
func runCheckConfig(t *testing.T, e env, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"internbot", "check-config"}, args...), e.get, nil, &out, &errOut)
	if err == nil {
		return 0, out.String(), errOut.String()
	}
	errOut.WriteString(err.Error())
	return exitCode(err), out.String(), errOut.String()
}

// TestCheckConfigRoundTrip: what check-config prints is a config file that check-config accepts and
// that means the same configuration.
func TestCheckConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	custom := filepath.Join(dir, "custom.yaml")
	if err := os.WriteFile(custom, []byte(`timezone: America/Los_Angeles
channel: C0123ABCD
admins: [U0ADMIN1, W0ADMIN2]
poll:
  options:
    - {reaction: white_check_mark, answer: "yes"}
    - {reaction: "-1", answer: "no"}
    - {reaction: shrug, answer: "off"}
reminders:
  schedule: "@every 12h"
  days_before: [30, 0]
  dm: false
deadlines:
  - {name: "Application deadline", date: 2026-12-15}
  - {name: "no", date: "2027-01-31"}
posting:
  title: Intern
  question: "Are you in?"
  sections:
    - key: pay
      title: Pay
      aliases: [salary, "yes"]
      body: |
        • Lots: 100%
        • More
    - {key: where, title: Where, body: "#remote"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := env{"SLACK_BOT_TOKEN": "xoxb-1234-abcdefghijk", "SLACK_APP_TOKEN": "xapp-1-A1-abcdefghijk"}
	for name, args := range map[string][]string{"OKDefaults": nil, "OKCustom": {"-config", custom}} {
		t.Run(name, func(t *testing.T) {
			code, first, stderr := runCheckConfig(t, e, args...)
			if code != 0 {
				t.Fatalf("check-config: exit %d\n%s", code, stderr)
			}
			again := filepath.Join(t.TempDir(), "again.yaml")
			if err := os.WriteFile(again, []byte(first), 0o600); err != nil {
				t.Fatal(err)
			}
			code, second, stderr := runCheckConfig(t, e, "-config", again)
			if code != 0 {
				t.Fatalf("check-config on its own output: exit %d\n%s\n--- the output fed back:\n%s", code, stderr, first)
			}
			// The same configuration, apart from which file it says it read.
			if a, b := settings(first, custom), settings(second, again); a != b {
				t.Errorf("the output fed back means another configuration:\n%s\n--- then:\n%s", a, b)
			}
		})
	}
}

// settings is check-config's output without the lines that name the file it read.
func settings(out, file string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "# configuration OK") || strings.HasPrefix(l, "# effective configuration of") {
			continue
		}
		keep = append(keep, strings.ReplaceAll(l, "<from "+file+">", "<from FILE>"))
	}
	return strings.Join(keep, "\n")
}
