package bot_test

import (
	"testing"
	"time"

	"github.com/internbot/internbot/config"
)

// FuzzParseDate holds config.ParseDate, which reads the date of `/internship deadline add`, to
// YYYY-MM-DD and real calendar days only: whatever it accepts prints back as the same text and is
// the same day time.Date would give.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-12-15", "2026-02-30", "2028-02-29", "2027-02-29", "0000-01-01", "9999-12-31",
		"2026-13-01", "2026-00-10", "2026-1-1", " 2026-12-15", "2026-12-15\n", "２０２６-12-15", "", "-001-01-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := config.ParseDate(s)
		if err != nil {
			if !d.IsZero() {
				t.Fatalf("%q: error %v with date %v", s, err, d)
			}
			return
		}
		if got := d.String(); got != s {
			t.Fatalf("%q parsed as %s", s, got)
		}
		y, m, day := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Date()
		if y != d.Year || m != d.Month || day != d.Day {
			t.Fatalf("%q: %v is not a calendar day", s, d)
		}
		if back := config.DateOf(d.In(time.UTC)); back != d {
			t.Fatalf("%q: DateOf(In) = %v", s, back)
		}
	})
}
