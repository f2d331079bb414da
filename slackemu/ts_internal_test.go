package slackemu

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestNextTS_StrictlyIncreasing(t *testing.T) {
	clock := time.Unix(1700000000, 999999000)
	s := New(Options{Now: func() time.Time { return clock }})
	a, _ := s.nextTS()
	b, _ := s.nextTS()
	s.SetNow(func() time.Time { return clock.Add(-time.Hour) }) // time travel backwards
	c, _ := s.nextTS()
	if a != "1700000000.999999" || b != "1700000001.000000" || c != "1700000001.000001" {
		t.Errorf("ts = %s %s %s", a, b, c)
	}
}

func FuzzParseTS(f *testing.F) {
	for _, s := range []string{"1700000000.000100", "1", "0.5", "", ".", "1.1234567", "-1.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := parseTS(s)
		if !ok {
			return
		}
		back, ok2 := parseTS(formatTS(m))
		if !ok2 || back != m {
			t.Errorf("round trip %q -> %d -> %q -> %d", s, m, formatTS(m), back)
		}
	})
}

// TestBlockLimits: blocks Slack would refuse are refused, in a post and in a slash command's ack.
func TestBlockLimits(t *testing.T) {
	for name, tc := range map[string]struct {
		blocks string
		ok     bool
	}{
		"OK":             {`[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]`, true},
		"ErrLongSection": {`[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("é", 3001) + `"}}]`, false},
		"SectionAtLimit": {`[{"type":"section","text":{"type":"mrkdwn","text":"` + strings.Repeat("é", 3000) + `"}}]`, true},
		"ErrLongHeader":  {`[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("h", 151) + `"}}]`, false},
		"ErrEmptyText":   {`[{"type":"section","text":{"type":"mrkdwn","text":""}}]`, false},
		"ErrNoType":      {`[{"text":{"type":"mrkdwn","text":"x"}}]`, false},
		"ErrBigContext":  {`[{"type":"context","elements":[` + strings.Repeat(`{"type":"mrkdwn","text":"x"},`, 10) + `{"type":"mrkdwn","text":"x"}]}]`, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := validBlocks(json.RawMessage(tc.blocks)); got != tc.ok {
				t.Errorf("valid = %v, want %v", got, tc.ok)
			}
		})
	}
}
