package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/posting"
)

const fullConfig = `# a complete config
timezone: America/Los_Angeles
channel: C0123ABCD
admins: [U0ADMIN1, W0ADMIN2]
poll:
  question: "Applying?"
  options:
    - {reaction: white_check_mark, answer: "yes"}
    - {reaction: "-1", answer: "no"}
reminders:
  schedule: "@every 12h"
  days_before: [30, 0]
  dm: false
deadlines:
  - {name: "Application deadline", date: 2026-12-15}
  - name: Offer
    date: "2027-01-31"
posting:
  title: Intern
  question: Are you in?
  sections:
    - key: pay
      title: Pay
      aliases: [salary]
      body: |-
        • Lots
        • More
`

func TestParse(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		c, err := config.Parse([]byte(fullConfig), "internbot.yaml")
		if err != nil {
			t.Fatal(err)
		}
		la, _ := time.LoadLocation("America/Los_Angeles")
		want := &config.Config{
			File:         "internbot.yaml",
			Timezone:     la,
			TimezoneName: "America/Los_Angeles",
			Channel:      "C0123ABCD",
			Admins:       []string{"U0ADMIN1", "W0ADMIN2"},
			Poll: config.Poll{Question: "Applying?", Options: []config.PollOption{
				{Reaction: "white_check_mark", Answer: "yes"}, {Reaction: "-1", Answer: "no"},
			}},
			Reminders: config.Reminders{Schedule: "@every 12h", DaysBefore: []int{30, 0}, DM: false, DMAnswers: []string{"yes"}},
			Deadlines: []config.Deadline{
				{Name: "Application deadline", Date: config.Date{Year: 2026, Month: time.December, Day: 15}},
				{Name: "Offer", Date: config.Date{Year: 2027, Month: time.January, Day: 31}},
			},
		}
		if c.Posting == nil || c.Posting.Title != "Intern" || len(c.Posting.Sections) != 1 ||
			c.Posting.Sections[0].Body != "• Lots\n• More" {
			t.Fatalf("Posting = %+v", c.Posting)
		}
		got := *c
		got.Posting = nil
		if c.Timezone.String() != want.Timezone.String() {
			t.Errorf("Timezone = %v", c.Timezone)
		}
		got.Timezone, want.Timezone = nil, nil
		if !reflect.DeepEqual(got.Admins, want.Admins) || !reflect.DeepEqual(got.Poll, want.Poll) ||
			!reflect.DeepEqual(got.Reminders, want.Reminders) || !reflect.DeepEqual(got.Deadlines, want.Deadlines) ||
			got.File != want.File || got.Channel != want.Channel || got.TimezoneName != want.TimezoneName {
			t.Errorf("Parse =\n%+v\nwant\n%+v", got, *want)
		}
	})

	t.Run("OKQuestionFromPosting", func(t *testing.T) {
		c, err := config.Parse([]byte("posting:\n  title: T\n  question: Coming?\n  sections: [{key: a, title: A, body: b}]\n"), "f")
		if err != nil {
			t.Fatal(err)
		}
		if c.Poll.Question != "Coming?" {
			t.Errorf("Poll.Question = %q, want the posting's", c.Poll.Question)
		}
	})

	t.Run("OKDescriptors", func(t *testing.T) {
		for _, spec := range []string{"@daily", "@hourly", "@every 1h", "@weekly", "30 8 * * MON-FRI", "0 9 1,15 * *"} {
			if _, err := config.Parse([]byte("reminders: {schedule: '"+spec+"'}"), "f"); err != nil {
				t.Errorf("schedule %q: %v", spec, err)
			}
		}
	})
}

func TestDefault(t *testing.T) {
	want := config.Default()
	if want.Timezone != time.UTC || want.TimezoneName != "UTC" || want.Channel != "" || len(want.Admins) != 0 ||
		want.Reminders.Schedule != "0 9 * * *" || !reflect.DeepEqual(want.Reminders.DaysBefore, []int{14, 7, 3, 1, 0}) ||
		!want.Reminders.DM || len(want.Deadlines) != 0 ||
		want.Poll.Question != posting.Default().Question || !reflect.DeepEqual(want.Poll.Options, config.DefaultOptions()) ||
		!reflect.DeepEqual(want.Posting, posting.Default()) {
		t.Fatalf("Default() = %+v", want)
	}
	for name, in := range map[string]string{
		"Empty":        "",
		"Comments":     "# nothing set yet\n",
		"Null":         "~\n",
		"EmptyDoc":     "---\n",
		"NullSections": "poll:\nreminders:\nposting:\n",
	} {
		t.Run(name, func(t *testing.T) {
			got, err := config.Parse([]byte(in), "f.yaml")
			if err != nil {
				t.Fatal(err)
			}
			got.File = ""
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q) = %+v, want defaults", in, got)
			}
		})
	}
	t.Run("OmittedKeys", func(t *testing.T) {
		got, err := config.Parse([]byte("channel: C1234\n"), "f.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if got.Channel != "C1234" || got.Reminders.Schedule != "0 9 * * *" || len(got.Poll.Options) != 3 || !got.Reminders.DM {
			t.Errorf("Parse = %+v", got)
		}
	})
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		key  string
		msg  string
	}{
		{"ErrUnknownKey", "channel: C123\ntimezon: UTC\n", 2, "timezon", `did you mean "timezone"`},
		{"ErrUnknownNestedKey", "poll:\n  question: Q\n  colour: red\n", 3, "poll.colour", "unknown key"},
		{"ErrUnknownOptionKey", "poll:\n  options:\n    - {reaction: x, answer: no, emoji: y}\n", 3, "poll.options[0].emoji", "unknown key"},
		{"ErrUnknownReminderKey", "reminders:\n  every: 1h\n", 2, "reminders.every", "unknown key"},
		{"ErrUnknownDeadlineKey", "deadlines:\n  - {name: A, date: 2026-01-01, when: x}\n", 2, "deadlines[0].when", "unknown key"},
		{"ErrUnknownPostingKey", "posting:\n  title: T\n  question: Q\n  sections: [{key: a, title: A, body: b}]\n  footer: x\n", 5, "posting.footer", "unknown key"},
		{"ErrUnknownSectionKey", "posting:\n  title: T\n  question: Q\n  sections:\n    - key: a\n      title: A\n      body: b\n      colour: red\n", 8, "posting.sections[0].colour", "unknown key"},
		{"ErrDuplicateKey", "channel: C123\nchannel: C456\n", 2, "channel", "set twice (first on line 1)"},
		{"ErrTypeString", "timezone: [UTC]\n", 1, "timezone", "must be a string, not a list"},
		{"ErrTypeList", "admins: U0ADMIN1\n", 1, "admins", "must be a list"},
		{"ErrTypeMapping", "poll: yes\n", 1, "poll", "must be a mapping"},
		{"ErrTypeBool", "reminders:\n  dm: yes\n", 2, "reminders.dm", "must be true or false"},
		{"ErrTypeInt", "reminders:\n  days_before: [7, soon]\n", 2, "reminders.days_before[1]", "must be a whole number"},
		{"ErrTypeIntFloat", "reminders:\n  days_before: [1.5]\n", 2, "reminders.days_before[0]", "must be a whole number"},
		{"ErrZone", "timezone: Mars/Olympus\n", 1, "timezone", `unknown time zone "Mars/Olympus"`},
		{"ErrZoneLocal", "timezone: Local\n", 1, "timezone", `"Local" depends on the server`},
		{"ErrZoneEmpty", "timezone: ''\n", 1, "timezone", "is empty"},
		{"ErrZonePath", "timezone: ../../etc/passwd\n", 1, "timezone", "unknown time zone"},
		{"ErrCron", "reminders:\n  schedule: '0 9 * *'\n", 2, "reminders.schedule", "not a valid cron spec"},
		{"ErrCronRange", "reminders:\n  schedule: '61 9 * * *'\n", 2, "reminders.schedule", "not a valid cron spec"},
		{"ErrCronSeconds", "reminders:\n  schedule: '0 0 9 * * *'\n", 2, "reminders.schedule", "five fields"},
		{"ErrCronDescriptor", "reminders:\n  schedule: '@reboot'\n", 2, "reminders.schedule", "not a valid cron spec"},
		{"ErrCronEvery", "reminders:\n  schedule: '@every 1s'\n", 2, "reminders.schedule", "at least 1m"},
		{"ErrCronEmpty", "reminders:\n  schedule: ''\n", 2, "reminders.schedule", "must not be empty"},
		{"ErrCronTZBare", "reminders:\n  schedule: CRON_TZ=UTC\n", 2, "reminders.schedule", "the zone comes from `timezone`"},
		{"ErrCronTZ", "reminders:\n  schedule: 'CRON_TZ=Europe/Paris 0 9 * * *'\n", 2, "reminders.schedule", "the zone comes from `timezone`"},
		{"ErrTZ", "reminders:\n  schedule: 'TZ=UTC 0 9 * * *'\n", 2, "reminders.schedule", "the zone comes from `timezone`"},
		{"ErrDateDay", "deadlines:\n  - {name: A, date: 2026-02-30}\n", 2, "deadlines[0].date", "has no day 30"},
		{"ErrDateMonth", "deadlines:\n  - {name: A, date: 2026-13-01}\n", 2, "deadlines[0].date", "no month 13"},
		{"ErrDateWords", "deadlines:\n  - {name: A, date: tomorrow}\n", 2, "deadlines[0].date", "YYYY-MM-DD"},
		{"ErrDateTime", "deadlines:\n  - {name: A, date: 2026-12-15T10:00:00Z}\n", 2, "deadlines[0].date", "YYYY-MM-DD"},
		{"ErrDateMissing", "deadlines:\n  - {name: A}\n", 2, "deadlines[0].date", "is required"},
		{"ErrDeadlineNameDuplicate", "deadlines:\n  - {name: Apply, date: 2026-01-01}\n  - {name: APPLY , date: 2026-01-02}\n", 3, "deadlines[1].name", "already the name of deadlines[0]"},
		{"ErrDeadlineNameEmpty", "deadlines:\n  - {name: ' ', date: 2026-01-01}\n", 2, "deadlines[0].name", "must not be empty"},
		{"ErrDeadlineNameMissing", "deadlines:\n  - date: 2026-01-01\n", 2, "deadlines[0].name", "is required"},
		{"ErrDeadlineNotMapping", "deadlines: [2026-01-01]\n", 1, "deadlines[0]", "must be a mapping"},
		{"ErrDaysBeforeNegative", "reminders:\n  days_before: [-1]\n", 2, "reminders.days_before[0]", "out of range"},
		{"ErrDaysBeforeTooMany", "reminders:\n  days_before: [366]\n", 2, "reminders.days_before[0]", "out of range"},
		{"ErrDaysBeforeDuplicate", "reminders:\n  days_before:\n    - 7\n    - 7\n", 4, "reminders.days_before[1]", "already listed"},
		{"ErrOptionsEmpty", "poll:\n  options: []\n", 2, "poll.options", "at least one option"},
		{"ErrOptionReactionEmpty", "poll:\n  options:\n    - {reaction: '', answer: a}\n", 3, "poll.options[0].reaction", "must not be empty"},
		{"ErrOptionAnswerEmpty", "poll:\n  options:\n    - {reaction: x, answer: ''}\n", 3, "poll.options[0].answer", "must not be empty"},
		{"ErrOptionAnswerTooLongForButton", "poll:\n  options:\n    - {reaction: x, answer: '" + strings.Repeat("a", 76) + "'}\n", 3, "poll.options[0].answer", "at most 75 characters"},
		{"ErrAnonymousNotBool", "poll:\n  anonymous: maybe\n", 2, "poll.anonymous", ""},
		{"ErrOptionAnswerMissing", "poll:\n  options:\n    - {reaction: x}\n", 3, "poll.options[0].answer", "is required"},
		{"ErrOptionReactionDuplicate", "poll:\n  options:\n    - {reaction: x, answer: a}\n    - {reaction: x, answer: b}\n", 4, "poll.options[1].reaction", `"x" is already the reaction of poll.options[0]`},
		{"ErrOptionAnswerDuplicate", "poll:\n  options:\n    - {reaction: x, answer: yes}\n    - {reaction: y, answer: YES}\n", 4, "poll.options[1].answer", "already the answer of poll.options[0]"},
		{"ErrOptionColons", "poll:\n  options:\n    - {reaction: ':x:', answer: no}\n", 3, "poll.options[0].reaction", `write reaction names without colons: "x", not ":x:"`},
		{"ErrOptionBadName", "poll:\n  options:\n    - {reaction: Thumbs Up, answer: no}\n", 3, "poll.options[0].reaction", "not a reaction name"},
		{"ErrTooManyOptions", "poll:\n  options:\n" + manyOptions(11), 3, "poll.options", "at most 10"},
		{"ErrQuestionEmpty", "poll:\n  question: ''\n", 2, "poll.question", "must not be empty"},
		{"ErrChannel", "channel: general\n", 1, "channel", `"general" is not a channel id`},
		{"ErrDMAnswerNotAnOption", "reminders:\n  dm_answers:\n    - yes\n    - perhaps\n", 4, "reminders.dm_answers[1]", `"perhaps" is not an answer of poll.options ("yes", "maybe", "no")`},
		{"ErrDMAnswerDuplicate", "reminders:\n  dm_answers: [yes, YES]\n", 2, "reminders.dm_answers[1]", "already listed"},
		{"ErrDMAnswerEmpty", "reminders:\n  dm_answers: []\n", 2, "reminders.dm_answers", "DMs would go to nobody"},
		{"ErrCloseAtNoDeadline", "deadlines:\n  - {name: Apply, date: 2026-01-01}\npoll:\n  close_at: Interview\n", 4, "poll.close_at", `"Interview" names no deadline; the deadlines are "Apply"`},
		{"ErrCloseAtNoDeadlines", "poll:\n  close_at: Apply\n", 2, "poll.close_at", "there are none under deadlines"},
		{"ErrChannelHash", "channel: '#C0123'\n", 1, "channel", "not a channel id"},
		{"ErrChannelDM", "channel: D0123ABC\n", 1, "channel", "not a channel id"},
		{"ErrAdmin", "admins: [U0ADMIN1, '@bob']\n", 1, "admins[1]", `"@bob" is not a user id`},
		{"ErrAdminDuplicate", "admins:\n  - U0ADMIN1\n  - U0ADMIN1\n", 3, "admins[1]", "already listed as admins[0]"},
		{"ErrPostingTitle", "posting:\n  question: Q\n  sections: [{key: a, title: A, body: b}]\n", 2, "posting.title", "is required"},
		{"ErrPostingSectionKey", "posting:\n  title: T\n  question: Q\n  sections:\n    - key: a\n      title: A\n      body: b\n    - key: A B\n      title: A\n      body: b\n", 8, "posting.sections[1].key", "lowercase"},
		{"ErrPostingDuplicateKey", "posting:\n  title: T\n  question: Q\n  sections:\n    - {key: a, title: A, body: b}\n    - {key: a, title: A, body: b}\n", 6, "posting.sections[1].key", "already used by sections[0]"},
		{"ErrPostingSectionBodyMissing", "posting:\n  title: T\n  question: Q\n  sections:\n    - key: a\n      title: A\n", 5, "posting.sections[0].body", "is required"},
		{"ErrPostingAlias", "posting:\n  title: T\n  question: Q\n  sections:\n    - key: a\n      title: A\n      body: b\n      aliases:\n        - x\n        - ''\n", 10, "posting.sections[0].aliases[1]", "must not be empty"},
		{"ErrPostingNoSections", "posting:\n  title: T\n  question: Q\n", 2, "posting.sections", "at least one"},
		{"ErrNotYAML", "channel: C123\npoll: [\n", 2, "", "not valid YAML"},
		{"ErrNotYAMLNoLine", "channel: C123\na: b: c\n", 2, "", "not valid YAML"},
		{"ErrBinary", "channel: C123\n\x00\x01\x02", 2, "", "not valid YAML"},
		{"ErrNotMapping", "just some text\n", 1, "", "must be a mapping of settings"},
		{"ErrList", "- a\n- b\n", 1, "", "must be a mapping of settings"},
		{"ErrMultipleDocuments", "channel: C123\n---\nchannel: C456\n", 2, "", "more than one YAML document"},
		{"ErrKeyNotScalar", "? [a, b]\n: 1\n", 1, "", "keys must be plain names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.in), "bot.yaml")
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse error = %v (%T), want config.Errors", err, err)
			}
			for _, e := range errs {
				if e.File == "bot.yaml" && e.Line == tt.line && e.Key == tt.key && strings.Contains(e.Msg, tt.msg) {
					want := "bot.yaml:" + itoa(tt.line) + ": "
					if !strings.HasPrefix(e.Error(), want) {
						t.Errorf("Error() = %q, want prefix %q", e.Error(), want)
					}
					return
				}
			}
			t.Fatalf("Parse errors:\n%v\nwant bot.yaml:%d: %s: …%s…", err, tt.line, tt.key, tt.msg)
		})
	}
}

func manyOptions(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("    - {reaction: r" + itoa(i) + ", answer: a" + itoa(i) + "}\n")
	}
	return b.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestParseAllErrors checks that one pass reports every problem, in line
// order, each line formatted FILE:LINE: KEY: message.
func TestParseAllErrors(t *testing.T) {
	in := "timezone: Nowhere\nchannel: general\nextra: 1\nreminders:\n  schedule: bad\n  days_before: [400]\ndeadlines:\n  - {name: A, date: tomorrow}\n"
	_, err := config.Parse([]byte(in), "bot.yaml")
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	var lines []int
	for _, e := range errs {
		lines = append(lines, e.Line)
	}
	if want := []int{1, 2, 3, 5, 6, 8}; !reflect.DeepEqual(lines, want) {
		t.Fatalf("error lines = %v, want %v\n%v", lines, want, err)
	}
	if got := strings.Split(err.Error(), "\n"); len(got) != 6 || got[0] != `bot.yaml:1: timezone: unknown time zone "Nowhere"; use an IANA name like America/Los_Angeles or UTC` {
		t.Errorf("Error() =\n%s", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Run("OK", func(t *testing.T) {
		path := filepath.Join(dir, "ok.yaml")
		if err := os.WriteFile(path, []byte("channel: C0123ABCD\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.File != path || c.Channel != "C0123ABCD" {
			t.Errorf("Load = %+v", c)
		}
	})
	t.Run("OKNoPath", func(t *testing.T) {
		c, err := config.Load("")
		if err != nil || c.File != "" || c.TimezoneName != "UTC" {
			t.Fatalf("Load(\"\") = %+v, %v", c, err)
		}
	})
	t.Run("ErrMissing", func(t *testing.T) {
		path := filepath.Join(dir, "nope.yaml")
		_, err := config.Load(path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrDirectory", func(t *testing.T) {
		if _, err := config.Load(dir); err == nil || !strings.Contains(err.Error(), "directory") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrNamesFile", func(t *testing.T) {
		path := filepath.Join(dir, "bad.yaml")
		if err := os.WriteFile(path, []byte("channel: nope\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(path)
		if err == nil || !strings.HasPrefix(err.Error(), path+":1: channel: ") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestEffective(t *testing.T) {
	t.Run("OKDefault", func(t *testing.T) {
		out, err := config.Default().Effective()
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		for _, want := range []string{"timezone: UTC", "schedule: 0 9 * * *", "days_before: [14, 7, 3, 1, 0]", `answer: "no"`,
			"posting: '<embedded default> sections: role, type, location, pay"} {
			if !strings.Contains(s, want) {
				t.Errorf("Effective() lacks %q:\n%s", want, s)
			}
		}
		if strings.Contains(s, "Tensorflow") {
			t.Errorf("Effective() prints the posting text:\n%s", s)
		}
	})
	t.Run("OKFromFile", func(t *testing.T) {
		c, err := config.Parse([]byte(fullConfig), "internbot.yaml")
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Effective()
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		for _, want := range []string{"timezone: America/Los_Angeles", "channel: C0123ABCD", "admins: [U0ADMIN1, W0ADMIN2]",
			"date: 2026-12-15", "<from internbot.yaml> sections: pay", "dm: false"} {
			if !strings.Contains(s, want) {
				t.Errorf("Effective() lacks %q:\n%s", want, s)
			}
		}
		for _, secret := range []string{"xoxb-", "xapp-", "token"} {
			if strings.Contains(strings.ToLower(s), secret) {
				t.Errorf("Effective() mentions %q:\n%s", secret, s)
			}
		}
	})
}

func TestDate(t *testing.T) {
	d, err := config.ParseDate("2026-12-15")
	if err != nil || d.String() != "2026-12-15" {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	if got := d.DaysUntil(config.Date{Year: 2027, Month: 1, Day: 1}); got != 17 {
		t.Errorf("DaysUntil = %d", got)
	}
	if got := d.AddDays(17); got != (config.Date{Year: 2027, Month: 1, Day: 1}) {
		t.Errorf("AddDays = %v", got)
	}
	la, _ := time.LoadLocation("America/Los_Angeles")
	// Across the March DST change a calendar day is still one day.
	if got := (config.Date{Year: 2026, Month: 3, Day: 7}).DaysUntil(config.Date{Year: 2026, Month: 3, Day: 9}); got != 2 {
		t.Errorf("DaysUntil across DST = %d", got)
	}
	if got := d.In(la); got.Hour() != 0 || got.Location() != la || config.DateOf(got) != d {
		t.Errorf("In = %v", got)
	}
	if !d.Before(d.AddDays(1)) || !d.After(d.AddDays(-1)) || d.Before(d) {
		t.Error("Before/After")
	}
	for _, bad := range []string{"2026-02-29", "2026-00-10", "2026-1-1", "", "20261215", "2026-12-15 "} {
		if _, err := config.ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) succeeded", bad)
		}
	}
	if _, err := config.ParseDate("2028-02-29"); err != nil {
		t.Errorf("leap day: %v", err)
	}
}

func TestParseSchedule(t *testing.T) {
	for _, spec := range []string{"0 9 * * *", "@daily", "@every 1h", " @midnight "} {
		if _, err := config.ParseSchedule(spec); err != nil {
			t.Errorf("ParseSchedule(%q) = %v", spec, err)
		}
	}
	for _, spec := range []string{"", "CRON_TZ=UTC", "TZ=UTC", "cron_tz=UTC 0 9 * * *", "* * *", "@every", "@every 10s", "0 9 * * * *"} {
		if _, err := config.ParseSchedule(spec); err == nil {
			t.Errorf("ParseSchedule(%q) succeeded", spec)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(fullConfig))
	f.Add([]byte(""))
	f.Add([]byte("reminders: {schedule: CRON_TZ=UTC}"))
	f.Add([]byte("a: &a [*a]\nposting: &p {sections: [*p]}"))
	f.Add([]byte("deadlines: [{name: a, date: 2026-02-30}]\n---\nx"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, "fuzz.yaml")
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v: want exactly one", c, err)
		}
		if err != nil {
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T %v is not config.Errors", err, err)
			}
			return
		}
		out, err := c.Effective()
		if err != nil {
			t.Fatalf("Effective: %v", err)
		}
		// What check-config prints parses back to the same configuration.
		again, err := config.Parse(out, "fuzz.yaml")
		if err != nil {
			t.Fatalf("Effective's output does not parse: %v\n%s", err, out)
		}
		if out2, _ := again.Effective(); string(out2) != string(out) {
			t.Fatalf("Effective's output parses to another configuration:\n%s\n--- then:\n%s", out, out2)
		}
	})
}

func TestWarningsDMAnswersMatchNothing(t *testing.T) {
	c, err := config.Parse([]byte("poll:\n  options:\n    - {reaction: a, answer: applying}\n    - {reaction: b, answer: undecided}\n"), "bot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ws := c.Warnings(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(ws) != 1 || ws[0].Line != 3 || ws[0].Key != "reminders.dm_answers" || !strings.Contains(ws[0].Msg, `matches none of poll.options' answers ("applying", "undecided")`) {
		t.Errorf("warnings = %v, want one at line 3 saying nobody gets reminder DMs", ws)
	}
}

func TestWarnings(t *testing.T) {
	c, err := config.Parse([]byte("timezone: America/Los_Angeles\ndeadlines:\n  - {name: Yesterday, date: 2026-12-14}\n  - {name: Today, date: 2026-12-15}\n"), "bot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-12-16 02:00 UTC is still the 15th in Los Angeles.
	now := time.Date(2026, 12, 16, 2, 0, 0, 0, time.UTC)
	ws := c.Warnings(now)
	if len(ws) != 1 || ws[0].Error() != `bot.yaml:3: deadlines[0].date: "Yesterday" was on 2026-12-14, in the past: it gets no reminders` {
		t.Errorf("Warnings = %v", ws)
	}
	if ws := config.Default().Warnings(now); len(ws) != 0 {
		t.Errorf("Warnings of the defaults = %v", ws)
	}
}

func TestParseTab(t *testing.T) {
	for name, in := range map[string]string{
		"Key":      "poll:\n\tquestion: Q\n",
		"ListItem": "poll:\n  options:\n  \t- {reaction: x, answer: y}\n",
		"Later":    "channel: C123\n\n\tadmins: [U123]\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Parse([]byte(in), "bot.yaml")
			if err == nil || !strings.Contains(err.Error(), "tab") || !strings.Contains(err.Error(), "spaces") {
				t.Errorf("Parse = %v, want a message about the tab", err)
			}
		})
	}
}
