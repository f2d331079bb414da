package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/internbot/internbot/config"
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
	for name, args := range map[string][]string{"OKDefaults": nil, "OKCustom": {"-config", custom}, "OKExample": {"-config", exampleConfig}} {
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
			if a, b := settings(first, args), settings(second, []string{"-config", again}); a != b {
				t.Errorf("the output fed back means another configuration:\n%s\n--- then:\n%s", a, b)
			}
		})
	}
}

// settings is check-config's output without the lines that name the file it read.
func settings(out string, args []string) string {
	file := ""
	if len(args) == 2 {
		file = args[1]
	}
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "# configuration OK") || strings.HasPrefix(l, "# effective configuration of") {
			continue
		}
		keep = append(keep, strings.ReplaceAll(l, "<from "+file+">", "<from FILE>"))
	}
	return strings.Join(keep, "\n")
}

const exampleConfig = "../../internbot.example.yaml"

// TestExampleConfig: internbot.example.yaml passes check-config and sets every key of the schema,
// each with a comment, so a key added to config.Config without an example fails here.
func TestExampleConfig(t *testing.T) {
	code, _, stderr := runCheckConfig(t, env{}, "-config", exampleConfig)
	if code != 0 {
		t.Fatalf("check-config %s: exit %d\n%s", exampleConfig, code, stderr)
	}
	data, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	commented := map[string]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			walk(n.Content[0], path)
		case yaml.SequenceNode:
			for _, item := range n.Content {
				walk(item, path+"[]")
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				key := k.Value
				if path != "" {
					key = path + "." + k.Value
				}
				commented[key] = commented[key] || k.HeadComment != "" || k.LineComment != "" || v.LineComment != "" ||
					(i == 0 && n.HeadComment != "") // "- key: …" under a comment: the comment is the item's
				walk(v, key)
			}
		}
	}
	walk(&doc, "")
	keys := config.Keys()
	if !slices.Contains(keys, "timezone") || !slices.Contains(keys, "poll.options[].answer") || !slices.Contains(keys, "posting.sections[].body") {
		t.Fatalf("config.Keys() = %q: not the schema's keys", keys)
	}
	for _, key := range keys {
		seen, ok := commented[key]
		switch {
		case !ok:
			t.Errorf("%s does not set %s; add it, with a comment", exampleConfig, key)
		case !seen:
			t.Errorf("%s sets %s without a comment saying what it does", exampleConfig, key)
		}
	}
}

// TestCheckConfigLogLevel: check-config refuses a log level that run would refuse.
func TestCheckConfigLogLevel(t *testing.T) {
	for name, tc := range map[string]struct {
		e    env
		args []string
	}{
		"ErrFlag": {env{}, []string{"-log-level", "loud"}},
		"ErrEnv":  {env{"INTERNBOT_LOG_LEVEL": "loud"}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runCheckConfig(t, tc.e, tc.args...)
			if code != 2 || !strings.Contains(stderr, `-log-level: "loud" is not one of debug, info, warn, error`) {
				t.Errorf("check-config with log level loud: exit %d\n%s", code, stderr)
			}
		})
	}
}

// TestCheckConfigWarnings: check-config passes (exit 0) a config that works but probably is not what
// was meant, and says why on stderr: tokens run would refuse, deadlines already past.
func TestCheckConfigWarnings(t *testing.T) {
	t.Run("Tokens", func(t *testing.T) {
		code, stdout, stderr := runCheckConfig(t, env{"SLACK_APP_TOKEN": "xoxb-SECRETSECRET"})
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		for _, want := range []string{"internbot: warning: SLACK_BOT_TOKEN is not set", `internbot: warning: SLACK_APP_TOKEN must start with "xapp-"`} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		if strings.Contains(stdout+stderr, "SECRETSECRET") {
			t.Errorf("a token leaked:\n%s%s", stdout, stderr)
		}
	})
	t.Run("PastDeadline", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "past.yaml")
		os.WriteFile(path, []byte("deadlines:\n  - {name: Long gone, date: 2001-01-01}\n  - {name: Far off, date: 2999-01-01}\n"), 0o600)
		code, _, stderr := runCheckConfig(t, env{"SLACK_BOT_TOKEN": "xoxb-1-abc", "SLACK_APP_TOKEN": "xapp-1-abc"}, "-config", path)
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		want := "internbot: warning: " + path + `:2: deadlines[0].date: "Long gone" was on 2001-01-01, in the past`
		if !strings.Contains(stderr, want) || strings.Contains(stderr, "Far off") {
			t.Errorf("stderr = %q, want one warning %q", stderr, want)
		}
	})
}

// TestErrorLinesPrefixed: every line of a many-line error on stderr starts with "internbot: ", so
// that each reads on its own in a log.
func TestErrorLinesPrefixed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("timezone: Nowhere\nchannel: general\n"), 0o600)
	cmd := exec.Command(internbotBinary(t), "check-config", "-config", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("check-config passed a bad config")
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("stderr = %q, want two errors", stderr.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "internbot: "+path+":") {
			t.Errorf("stderr line %q lacks the prefix", l)
		}
	}
}

// TestCheckConfigTab: a tab where YAML wants spaces gets a message that says so.
func TestCheckConfigTab(t *testing.T) {
	for name, in := range map[string]string{
		"Indent":   "poll:\n\tquestion: Q\n",
		"ListItem": "poll:\n  options:\n  \t- {reaction: x, answer: y}\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tab.yaml")
			os.WriteFile(path, []byte(in), 0o600)
			code, _, stderr := runCheckConfig(t, env{}, "-config", path)
			if code != 1 || !strings.Contains(stderr, "tab") || !strings.Contains(stderr, "spaces") {
				t.Errorf("exit %d, stderr %q: want an error about the tab", code, stderr)
			}
		})
	}
}

// TestReadmeConfigFirst: the README shows the example config and the configuration reference before
// the first command (in a code block) that takes a config file.
func TestReadmeConfigFirst(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	// The first command a reader would type that takes a config file: a line of a code block.
	first, inCode, off := -1, false, 0
	for line := range strings.SplitAfterSeq(readme, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		} else if inCode && strings.Contains(line, "-config ") {
			first = off
			break
		}
		off += len(line)
	}
	example := strings.Index(readme, "internbot.example.yaml")
	reference := strings.Index(readme, "\n## Configuration")
	if first < 0 || example < 0 || reference < 0 {
		t.Fatalf("README: -config at %d, internbot.example.yaml at %d, ## Configuration at %d", first, example, reference)
	}
	if example > first || reference > first {
		t.Errorf("the README uses -config (offset %d) before it points to internbot.example.yaml (%d) and the configuration reference (%d)", first, example, reference)
	}
}
