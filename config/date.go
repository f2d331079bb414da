package config

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Date is a civil date with no time or zone: deadlines are days, and which
// instant a day starts at depends on Config.Timezone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

var dateRE = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})$`)

// ParseDate parses a date written as YYYY-MM-DD and rejects dates that do not
// exist, such as 2026-02-30.
func ParseDate(s string) (Date, error) {
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		return Date{}, fmt.Errorf("%q is not a date; write dates as YYYY-MM-DD, like 2026-12-15", s)
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	if mo < 1 || mo > 12 {
		return Date{}, fmt.Errorf("%q is not a date: there is no month %d", s, mo)
	}
	date := Date{Year: y, Month: time.Month(mo), Day: d}
	if d < 1 || date.midnightUTC().Day() != d {
		return Date{}, fmt.Errorf("%q is not a date: %s %d has no day %d", s, time.Month(mo), y, d)
	}
	return date, nil
}

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// In returns the instant d starts at (midnight) in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays returns the date n days after d (before, if n is negative).
func (d Date) AddDays(n int) Date {
	return DateOf(d.midnightUTC().AddDate(0, 0, n))
}

// DaysUntil returns how many days later is than d: 0 on the same day,
// negative once it has passed. Counted on the calendar, so DST changes in
// any zone do not matter.
func (d Date) DaysUntil(later Date) int {
	return int(later.midnightUTC().Sub(d.midnightUTC()).Hours() / 24)
}

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.DaysUntil(o) > 0 }

// After reports whether d is after o.
func (d Date) After(o Date) bool { return d.DaysUntil(o) < 0 }

func (d Date) midnightUTC() time.Time { return d.In(time.UTC) }

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes d as a plain 2026-12-15, which Parse reads back as a date (not the quoted
// string the text marshaller would give, nor a timestamp).
func (d Date) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: d.String()}, nil
}
