package bot_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/posting"
	"github.com/internbot/internbot/slackemu"
)

// TestDetailsShowsOpeningOnce: the default posting's summary and its `about` section have the same
// body; the whole posting shows that paragraph once, and `/internship about` still answers with it.
func TestDetailsShowsOpeningOnce(t *testing.T) {
	h := newHarness(t)
	const opening = "Millions use Pinterest to find creative ideas"
	r := h.slash(member, channel, "details")
	if n := strings.Count(r.Text, opening); n != 1 {
		t.Errorf("the fallback text shows the opening paragraph %d times, want 1", n)
	}
	if n := strings.Count(string(r.Blocks), opening); n != 1 {
		t.Errorf("the blocks show the opening paragraph %d times, want 1", n)
	}
	if r := h.slash(member, channel, "about"); !strings.Contains(r.Text, opening) {
		t.Errorf("/internship about no longer answers with the opening: %q", r.Text)
	}
}

// TestAnswerFooterIsShort: an answer ends with a short pointer to `details`, not the posting's
// 100-character title again.
func TestAnswerFooterIsShort(t *testing.T) {
	h := newHarness(t)
	r := h.slash(member, channel, "pay")
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			Text string `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(r.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	last := blocks[len(blocks)-1]
	if last.Type != "context" || len(last.Elements) != 1 {
		t.Fatalf("the answer does not end with one context block: %s", r.Blocks)
	}
	footer := last.Elements[0].Text
	if !strings.Contains(footer, "/internship details") {
		t.Errorf("footer %q does not point to /internship details", footer)
	}
	if strings.Contains(footer, "Pinterest") || len(footer) > 60 {
		t.Errorf("footer is %d characters and repeats the title: %q", len(footer), footer)
	}
}

// TestDateQuestions: questions about dates lead to the deadlines (and the command that lists them),
// and to the parts of the posting that give dates.
func TestDateQuestions(t *testing.T) {
	t.Run("Deadline", func(t *testing.T) {
		h := newHarness(t, withConfig(func(c *config.Config) {
			c.Deadlines = []config.Deadline{{Name: "Application deadline", Date: config.Date{Year: 2026, Month: time.December, Day: 15}}}
		}))
		for _, q := range []string{"what is the deadline", "when is it due?", "When do applications close", "deadline?"} {
			r := h.slash(member, channel, q)
			for _, want := range []string{"Application deadline", "Dec 15, 2026", "/internship deadlines"} {
				if !strings.Contains(r.Text, want) {
					t.Errorf("/internship %s: the answer lacks %q:\n%s", q, want, r.Text)
				}
			}
			if strings.Contains(r.Text, "couldn't find") {
				t.Errorf("/internship %s: says it found nothing:\n%s", q, r.Text)
			}
		}
	})
	t.Run("NoDeadlines", func(t *testing.T) {
		h := newHarness(t)
		r := h.slash(member, channel, "what is the deadline")
		if strings.Contains(r.Text, "couldn't find") || !strings.Contains(r.Text, "/internship deadlines") {
			t.Errorf("the answer does not lead to /internship deadlines:\n%s", r.Text)
		}
	})
	t.Run("PostingDates", func(t *testing.T) {
		p := posting.Default()
		p.Sections = append(p.Sections, posting.Section{Key: "dates", Title: "Dates", Body: "Starts September 8, 2027; 12 weeks."})
		h := newHarness(t, withConfig(func(c *config.Config) { c.Posting = p }))
		r := h.slash(member, channel, "when does it start?")
		for _, want := range []string{"September 8, 2027", "/internship deadlines"} {
			if !strings.Contains(r.Text, want) {
				t.Errorf("the answer lacks %q:\n%s", want, r.Text)
			}
		}
	})
}

// TestNewPollUpdatedOnlyOnChange: posting a poll does not follow it with a chat.update that changes
// nothing (the console printed every new poll twice); the first reaction does update it.
func TestNewPollUpdatedOnlyOnChange(t *testing.T) {
	h := newHarness(t)
	before := h.emu.Calls("chat.update")
	p := h.postPoll(channel)
	h.react(member, p, yes)
	h.eventually("the count on the poll message", func() bool {
		m, _ := h.emu.Message(channel, p.TS)
		return strings.Contains(m.Text, "*yes* 1")
	})
	// The updater handles marks in order: the reaction's update came after any update for the post.
	if got := h.emu.Calls("chat.update") - before; got != 1 {
		t.Errorf("%d chat.update calls for a new poll and one reaction, want 1", got)
	}
}

// TestAuthErrorNamesMethodOnce: an auth.test that fails names the method once ("auth.test: auth.test:
// Post …" did twice).
func TestAuthErrorNamesMethodOnce(t *testing.T) {
	h := newHarness(t)
	h.stop()
	h.emu.Fail("auth.test", slackemu.Failure{Error: "fatal_error"})
	b := h.bot
	err := b.Run(context.Background())
	if err == nil {
		t.Fatal("Run with a revoked token returned nil")
	}
	if n := strings.Count(err.Error(), "auth.test"); n != 1 {
		t.Errorf("error names auth.test %d times: %v", n, err)
	}
}
