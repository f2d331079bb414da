package bot

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/remind"
)

func TestTruncateCountsCharacters(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven ch…"},
		{"ééééééééééé", 10, "ééééééééé…"}, // 11 two-byte characters
		{"", 0, ""},
	} {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestSectionsFitSlackLimits: a long reply (an admin's results on a large poll) becomes several
// sections, none over Slack's 3000 characters, losing no line.
func TestSectionsFitSlackLimits(t *testing.T) {
	var lines []string
	for i := range 400 {
		lines = append(lines, "• *yes*: <@U"+strings.Repeat("é", 5)+string(rune('A'+i%26))+">")
	}
	lines = append(lines, strings.Repeat("x", 7000)) // one line longer than a section
	text := strings.Join(lines, "\n")
	blocks := mrkdwnSections(text)
	var got strings.Builder
	for _, b := range blocks {
		s, ok := b.(*slack.SectionBlock)
		if !ok {
			t.Fatalf("block %T, want sections", b)
		}
		if n := utf8.RuneCountInString(s.Text.Text); n > maxSectionText || n == 0 {
			t.Fatalf("section of %d characters", n)
		}
		got.WriteString(s.Text.Text)
	}
	if len(blocks) > maxBlocks {
		t.Fatalf("%d blocks", len(blocks))
	}
	if strings.ReplaceAll(got.String(), "\n", "") != strings.ReplaceAll(text, "\n", "") {
		t.Errorf("text lost or changed in the split")
	}
	if h := truncate(strings.Repeat("T", 400), maxHeaderText); utf8.RuneCountInString(h) != maxHeaderText {
		t.Errorf("header of %d characters", utf8.RuneCountInString(h))
	}
}

func TestSlackClock(t *testing.T) {
	slack := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	t.Run("HostClockFast", func(t *testing.T) {
		c := NewSlackClock()
		c.observe(slack.UnixMicro(), time.Now(), false)
		got := c.now(slack.Add(2 * time.Minute)) // the host runs two minutes ahead
		if d := got.Sub(slack); d < 0 || d > time.Second {
			t.Errorf("estimate %v is %v from Slack's clock", got, d)
		}
	})
	t.Run("HostClockSlowBeforeAnyEvent", func(t *testing.T) {
		c := NewSlackClock()
		c.seed(slack)
		if got := c.now(slack.Add(-time.Hour)); !got.After(slack) {
			t.Errorf("estimate %v is not after the newest stored event %v", got, slack)
		}
	})
	t.Run("DateWinsOverEvents", func(t *testing.T) {
		c := NewSlackClock()
		c.observe(slack.Add(time.Hour).UnixMicro(), time.Now(), false) // an event_ts an hour ahead
		c.observe(slack.UnixMicro(), time.Now(), true)
		c.observe(slack.Add(time.Hour).UnixMicro(), time.Now(), false)
		if d := c.now(slack.Add(2 * time.Minute)).Sub(slack); d < 0 || d > time.Second {
			t.Errorf("estimate is %v from the Date, want the Date", d)
		}
	})
	t.Run("OnlySlacksAnswers", func(t *testing.T) {
		// A proxy's error page (a 502 from a box whose clock is far ahead) is not Slack's clock.
		future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, status := range []int{http.StatusBadGateway, http.StatusProxyAuthRequired} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Date", future.Format(http.TimeFormat))
				w.WriteHeader(status)
			}))
			c := NewSlackClock()
			resp, err := c.HTTPClient(nil).Get(srv.URL)
			srv.Close()
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := c.now(slack); got.After(slack.Add(time.Minute)) {
				t.Errorf("a %d response moved the clock to %v", status, got)
			}
		}
	})
	t.Run("LatestLowerBound", func(t *testing.T) {
		c := NewSlackClock()
		at := time.Now()
		c.observe(slack.UnixMicro(), at, true)
		c.observe(slack.Add(-time.Second).UnixMicro(), at.Add(time.Millisecond), true) // an older Date, later
		if got, _ := c.fromSlack(); got.Before(slack) {
			t.Errorf("estimate %v went back before an earlier reading %v", got, slack)
		}
	})
	t.Run("NothingKnown", func(t *testing.T) {
		c := NewSlackClock()
		if got := c.now(slack); !got.Equal(slack) {
			t.Errorf("estimate %v, want the host clock", got)
		}
	})
}

// TestPostResponseHidesTheURL: a response_url is a secret; an error posting to it names only its host.
func TestPostResponseHidesTheURL(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens: the post fails with a network error naming the URL
	err = postResponse(context.Background(), "http://"+addr+"/hooks/T0/B0/SECRETPART", &slack.WebhookMessage{Text: "hi"})
	if err == nil {
		t.Fatal("posting to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "SECRETPART") || !strings.Contains(err.Error(), addr) {
		t.Errorf("error = %q, want the host and not the path", err)
	}
}

// TestNudgeDMButtonsOnly: on an anonymous or hide_results poll a reaction would publish the person's
// answer (the bot counts none there), so the nudge asks for the buttons only.
func TestNudgeDMButtonsOnly(t *testing.T) {
	opts := []internbot.PollOption{{Reaction: "white_check_mark", Answer: "yes"}, {Reaction: "x", Answer: "no"}}
	for _, tc := range []struct {
		name string
		poll internbot.Poll
		want string
	}{
		{"Reactions", internbot.Poll{Channel: "C1", Options: opts}, "answer by reacting"},
		{"Anonymous", internbot.Poll{Channel: "C1", Options: opts, Anonymous: true}, "answer with its buttons"},
		{"HideResults", internbot.Poll{Channel: "C1", Options: opts, HideResults: true}, "answer with its buttons"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.poll
			text := renderDM(remind.Message{Deadline: "Apply", DaysLeft: 3, Nudge: true, Poll: &p})
			if !strings.Contains(text, tc.want) {
				t.Fatalf("nudge %q does not say %q", text, tc.want)
			}
			if p.ButtonsOnly() && strings.Contains(text, "react") {
				t.Fatalf("a buttons-only poll's nudge asks for a reaction: %q", text)
			}
		})
	}
}
