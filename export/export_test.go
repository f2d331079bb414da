package export_test

import (
	"testing"

	"github.com/internbot/internbot/export"
)

func TestParsePollRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want export.PollRef
		ok   bool
	}{
		{"", export.PollRef{}, true},
		{"C0123/1700000000.000100", export.PollRef{Channel: "C0123", TS: "1700000000.000100"}, true},
		{"C0123", export.PollRef{}, false},
		{"/1700000000.000100", export.PollRef{}, false},
		{"C0123/yesterday", export.PollRef{}, false},
	} {
		got, err := export.ParsePollRef(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParsePollRef(%q) = %+v, %v; want %+v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
