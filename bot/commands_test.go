package bot_test

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/internbot/internbot/config"
)

func TestDetails(t *testing.T) {
	h := newHarness(t)
	r := h.slash(member, channel, "details")
	if r.ResponseType != "ephemeral" {
		t.Errorf("response_type = %q, want ephemeral", r.ResponseType)
	}
	if !strings.Contains(string(r.Blocks), `"type":"header"`) {
		t.Errorf("no header block: %s", r.Blocks)
	}
	// Real facts of the posting, in both the blocks and the plain-text fallback.
	for _, want := range []string{
		"$12100 monthly", "Tensorflow, Pytorch, MLFlow", "San Francisco, CA", "Palo Alto, CA", "Seattle, WA", "New York, NY",
		"Full-time (40 hours/week)", "Working towards a PhD degree", "Publications in machine learning",
		"Advance Technology Group (ATG)", "Feature Development",
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("fallback text lacks %q", want)
		}
		if !strings.Contains(string(r.Blocks), want) {
			t.Errorf("blocks lack %q", want)
		}
	}
	for _, title := range []string{"Role", "Type", "Location", "Pay", "Team", "Mission", "Tech Stack", "What You", "Must-Haves", "Bonus"} {
		if !strings.Contains(string(r.Blocks), title) {
			t.Errorf("blocks lack the %q section", title)
		}
	}
}

func TestSectionKeywords(t *testing.T) {
	h := newHarness(t)
	for _, s := range h.cfg.Posting.Sections {
		t.Run(s.Key, func(t *testing.T) {
			r := h.slash(member, channel, s.Key)
			first := firstSectionText(t, r)
			if !strings.Contains(first, s.Title) {
				t.Errorf("/internship %s: first section is %q, want the %q section", s.Key, first, s.Title)
			}
		})
	}
}

func TestQuestions(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ ask, want string }{
		{"pay", "$12100 monthly"},
		{"salary", "$12100 monthly"},
		{"how much does it pay?", "$12100 monthly"},
		{"location", "Seattle, WA"},
		{"where is it?", "San Francisco, CA"},
		{"remote?", "Remote"},
		{"tech stack", "Pytorch"},
		{"what are the requirements?", "PhD degree"},
		{"team", "Advance Technology Group"},
		{"bonus", "Publications"},
		{"duties", "Feature Development"},
		{"what will I do", "Production Systems"},
		{"WHERE IS IT", "New York, NY"},
	} {
		t.Run(tc.ask, func(t *testing.T) {
			r := h.slash(member, channel, tc.ask)
			if !strings.Contains(firstSectionText(t, r), tc.want) {
				t.Errorf("/internship %s: best section does not mention %q:\n%s", tc.ask, tc.want, r.Text)
			}
			if strings.Count(string(r.Blocks), `"type":"section"`) > 6 {
				t.Errorf("/internship %s: answered with more than the best sections:\n%s", tc.ask, r.Text)
			}
		})
	}
}

// firstSectionText is the text of the reply's first section block.
func firstSectionText(t *testing.T, r replyMsg) string {
	t.Helper()
	i := strings.Index(string(r.Blocks), `"type":"section"`)
	if i < 0 {
		t.Fatalf("no section block in %s", r.Blocks)
	}
	rest := string(r.Blocks)[i:]
	if j := strings.Index(rest[1:], `"type":"section"`); j > 0 {
		rest = rest[:j+1]
	}
	return rest
}

func TestHelp(t *testing.T) {
	h := newHarness(t)
	for _, text := range []string{"", "help", "HELP", "   "} {
		r := h.slash(member, channel, text)
		for _, cmd := range []string{"details", "help", "me", "results", "forget", "poll", "close"} {
			if !strings.Contains(r.Text, "/internship "+cmd) {
				t.Errorf("help for %q lacks %q:\n%s", text, cmd, r.Text)
			}
		}
		for _, s := range h.cfg.Posting.Sections {
			if !strings.Contains(r.Text, "`"+s.Key+"`") {
				t.Errorf("help lacks the section keyword %q", s.Key)
			}
		}
	}
}

func TestUnknownWords(t *testing.T) {
	h := newHarness(t)
	r := h.slash(member, channel, "asdfghjkl")
	if !strings.Contains(r.Text, "couldn't find") || !strings.Contains(r.Text, "/internship help") {
		t.Errorf("unknown words: %q", r.Text)
	}
	// A typo is either answered or met with a suggestion, never with nothing useful.
	r = h.slash(member, channel, "salry")
	if !strings.Contains(r.Text, "/internship pay") && !strings.Contains(r.Text, "$12100") {
		t.Errorf("typo got neither the pay section nor a suggestion of it: %q", r.Text)
	}
}

func TestBadInput(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var junk strings.Builder
	for junk.Len() < 10*1024 {
		r := rune(rng.IntN(0x10FFFF))
		if utf8.ValidRune(r) {
			junk.WriteRune(r)
		}
	}
	for name, text := range map[string]string{
		"random unicode":     junk.String(),
		"control characters": "\x00\x01\x02\x1b[31m\x7f pay \u202e\ufeff",
		"only spaces":        strings.Repeat(" ", 500),
		"sql":                "'; DROP TABLE answers; --",
		"mentions":           "<!channel> <@U0ADMIN> &amp; <script>",
	} {
		t.Run(name, func(t *testing.T) {
			r := h.slash(member, channel, text) // fails the test past 3 s
			if r.Text == "" {
				t.Errorf("no answer")
			}
			if strings.Contains(r.Text, "<!channel>") || strings.Contains(r.Text, "<script>") {
				t.Errorf("echoed unescaped markup: %q", r.Text)
			}
		})
	}
	// Still working afterwards.
	if r := h.slash(member, channel, "pay"); !strings.Contains(r.Text, "$12100") {
		t.Errorf("after bad input, pay = %q", r.Text)
	}
}

// TestOperatorPosting: a posting from the config file replaces the built-in one everywhere.
func TestOperatorPosting(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/internbot.yaml"
	yaml := `posting:
  title: "Summer Data Engineering Intern | Example Co"
  question: "Will you apply?"
  sections:
    - key: pay
      title: Pay
      aliases: [salary, stipend]
      body: "$9000 monthly"
    - key: location
      title: Location
      aliases: [where, remote]
      body: "Lisbon, Portugal"
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, withConfig(func(c *config.Config) { c.Posting, c.Poll.Question = cfg.Posting, cfg.Poll.Question }))
	if r := h.slash(member, channel, "what is the stipend?"); !strings.Contains(r.Text, "$9000 monthly") {
		t.Errorf("stipend: %q", r.Text)
	}
	if r := h.slash(member, channel, "details"); !strings.Contains(r.Text, "Lisbon") || strings.Contains(r.Text, "Pinterest") {
		t.Errorf("details still shows the built-in posting: %q", r.Text)
	}
	p := h.postPoll(channel)
	if p.Question != "Will you apply?" {
		t.Errorf("poll question = %q", p.Question)
	}
}

// TestBareMentionsEscaped: @channel, @here and @everyone typed by a user are not echoed as mentions,
// in a reply or in a public reminder.
func TestBareMentionsEscaped(t *testing.T) {
	h := newHarness(t, withDeadline("UTC"), startAt(time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC)))
	mentions := []string{"@channel", "@here", "@everyone", "@Channel", "<!channel>", "<!here>", "<!everyone>"}
	check := func(what, text string) {
		t.Helper()
		for _, m := range mentions {
			if strings.Contains(text, m) {
				t.Errorf("%s echoes %s: %q", what, m, text)
			}
		}
	}
	r := h.slash(member, channel, "@channel @here and @everyone, @Channel <!channel> <!here> <!everyone>")
	check("an unknown question", r.all())
	if !strings.Contains(r.Text, "couldn't find") {
		t.Errorf("unknown question: %q", r.Text)
	}
	r = h.slash(admin, channel, "deadline add 2026-12-15 Party @here")
	check("deadline add", r.all())
	if !strings.Contains(r.Text, "Added") {
		t.Fatalf("deadline add: %q", r.Text)
	}
	check("deadlines", h.slash(member, channel, "deadlines").all())
	h.clock.Set(time.Date(2026, 12, 12, 9, 0, 0, 0, time.UTC))
	if err := h.runReminders(); err != nil {
		t.Fatal(err)
	}
	rs := h.reminders()
	if len(rs) != 2 {
		t.Fatalf("%d reminders, want 2", len(rs))
	}
	for _, m := range rs {
		check("a reminder", m.Text+string(m.Blocks))
	}
}
