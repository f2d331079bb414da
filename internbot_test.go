package internbot

import "testing"

func TestParseSlackTS(t *testing.T) {
	for _, tt := range []struct {
		ts   string
		want int64
		ok   bool
	}{
		{"1712345678.123456", 1712345678_123456, true},
		{"1000.5", 1000_500000, true},
		{"1000.25", 1000_250000, true},
		{"1000", 1000_000000, true},
		{"1000.1234567", 1000_123456, true},
		{"", 0, false},
		{".5", 0, false},
		{"12a.5", 0, false},
		{"1.-5", 0, false},
		{"-1.5", 0, false},
		{"1234567890123.0", 0, false},
	} {
		got, err := ParseSlackTS(tt.ts)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSlackTS(%q) = %d, %v; want %d, ok=%v", tt.ts, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseSlackTS(f *testing.F) {
	for _, s := range []string{"1712345678.123456", "1.5", "", "9.", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		us, err := ParseSlackTS(s)
		if err != nil {
			return
		}
		if us < 0 {
			t.Fatalf("ParseSlackTS(%q) = %d < 0", s, us)
		}
		back, err := ParseSlackTS(FormatSlackTS(us))
		if err != nil || back != us {
			t.Fatalf("round trip of %q: %d -> %q -> %d, %v", s, us, FormatSlackTS(us), back, err)
		}
	})
}
