// Package config owns the bot's settings: it turns the YAML config file and
// the environment into a validated *Config, and it is the only package that
// reads environment variables (through an injected getenv). It must not
// import bot, remind, storage, export, slackemu or slack-go: they read it.
//
// A bad config is refused, never half-applied: Parse reports every problem it
// finds as FILE:LINE: KEY: message, in line order, so an admin can fix the
// file in one pass.
package config

import (
	"encoding"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/internbot/internbot/posting"
)

// Config is the validated configuration the bot runs with. The yaml tags on it and on the types
// below are the config file's schema: Parse decodes by them, Effective prints by them, and a key
// without a tag (`yaml:"-"`) is not in the file. See the README's design section for adding a key.
type Config struct {
	File         string           `yaml:"-"` // path it was loaded from; "" = built-in default
	Timezone     *time.Location   `yaml:"-"` // zone for schedules and deadlines, from TimezoneName; default UTC
	TimezoneName string           `yaml:"timezone"`
	Channel      string           `yaml:"channel"` // reminders channel id; "" = reminders are logged, not posted
	Admins       []string         `yaml:"admins"`  // user ids allowed to run admin commands
	Poll         Poll             `yaml:"poll"`
	Reminders    Reminders        `yaml:"reminders"`
	Deadlines    []Deadline       `yaml:"deadlines"`
	Posting      *posting.Posting `yaml:"posting"`

	postingFrom string         // file the posting came from; "" = the embedded default
	lines       map[string]int // key path -> line, for each key the file set; nil if none
}

// Poll is what the bot asks and which reaction means which answer.
type Poll struct {
	Question string       `yaml:"question"`
	Options  []PollOption `yaml:"options"` // in display order
	// Anonymous polls show nobody, admins included, who answered what; counts only.
	Anonymous bool `yaml:"anonymous"`
	// HideResults polls show no counts until they close.
	HideResults bool `yaml:"hide_results"`
	// CloseAt names a deadline: the poll closes at the end of that deadline's day (in Timezone).
	CloseAt string `yaml:"close_at"`
}

// PollOption maps a reaction name (without colons) to an answer.
type PollOption struct {
	Reaction string `yaml:"reaction"`
	Answer   string `yaml:"answer"`
}

// Reminders says when deadline reminders go out.
type Reminders struct {
	Schedule   string `yaml:"schedule"`    // robfig/cron spec, run in Config.Timezone; see ParseSchedule
	DaysBefore []int  `yaml:"days_before"` // remind this many days before each deadline (0 = on the day)
	DM         bool   `yaml:"dm"`          // also send one DM per deadline per day to each person whose answer is in DMAnswers
	// DMAnswers are the poll answers whose people get reminder DMs.
	DMAnswers []string `yaml:"dm_answers"`
	// Nudge DMs the members of the poll's channel who have not answered, on the same days.
	Nudge bool `yaml:"nudge"`
	// SkipWeekends sends nothing on a recipient's Saturday or Sunday; what would fall there goes out
	// on the Friday before.
	SkipWeekends bool `yaml:"skip_weekends"`
}

// Deadline is a named date people are reminded about.
type Deadline struct {
	Name string `yaml:"name"`
	Date Date   `yaml:"date"`
}

// Defaults for keys the file leaves out.
const (
	DefaultSchedule = "0 9 * * *"
	maxOptions      = 10
	maxDaysBefore   = 365
	maxFileSize     = 1 << 20
)

// DefaultOptions returns the default poll options: yes, maybe, no.
func DefaultOptions() []PollOption {
	return []PollOption{
		{Reaction: "white_check_mark", Answer: "yes"},
		{Reaction: "thinking_face", Answer: "maybe"},
		{Reaction: "x", Answer: "no"},
	}
}

// Default returns the configuration used when there is no file, which is
// also what every key the file leaves out falls back to.
func Default() *Config {
	p := posting.Default()
	return &Config{
		Timezone:     time.UTC,
		TimezoneName: "UTC",
		Poll:         Poll{Question: p.Question, Options: DefaultOptions(), Anonymous: false, HideResults: false},
		Reminders: Reminders{
			Schedule:   DefaultSchedule,
			DaysBefore: []int{14, 7, 3, 1, 0},
			DM:         true,
			DMAnswers:  []string{"yes", "maybe"},
		},
		Posting: p,
	}
}

// Load reads and parses the config file at path; "" means no file, the defaults.
func Load(path string) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("config file %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if info.IsDir() {
		return nil, fmt.Errorf("config file %s is a directory", path)
	}
	if info.Size() > maxFileSize {
		return nil, fmt.Errorf("config file %s is too large (%d bytes; the limit is %d)", path, info.Size(), maxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path)
}

// Error is one problem in a config file. Line is 0 when the YAML parser
// could not say where the problem is.
type Error struct {
	File string
	Line int
	Key  string // dotted path, e.g. "poll.options[1].reaction"; "" for the file as a whole
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(displayFile(e.File))
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func displayFile(file string) string {
	if file == "" {
		return "config"
	}
	return file
}

// Errors is every problem found in a config file, in line order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find the individual *Error values.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Warnings returns what in c is valid but likely a mistake, as of now: deadlines already past,
// which get no reminders. Each names the file, line and key, like an error.
func (c *Config) Warnings(now time.Time) Errors {
	var ws Errors
	today := DateOf(now.In(c.Timezone))
	for i, d := range c.Deadlines {
		if d.Date.Before(today) {
			key := fmt.Sprintf("deadlines[%d].date", i)
			ws = append(ws, &Error{File: c.File, Line: c.lines[key], Key: key,
				Msg: fmt.Sprintf("%q was on %s, in the past: it gets no reminders", d.Name, d.Date)})
		}
	}
	if c.Reminders.DM && len(c.Reminders.DMAnswers) == 0 {
		var list []string
		for _, o := range c.Poll.Options {
			list = append(list, strconv.Quote(o.Answer))
		}
		ws = append(ws, &Error{File: c.File, Line: c.lines["poll.options"], Key: "reminders.dm_answers",
			Msg: fmt.Sprintf("is left out, and its default (\"yes\", \"maybe\") matches none of poll.options' answers (%s): nobody gets reminder DMs; list the answers whose people should", strings.Join(list, ", "))})
	}
	return ws
}

// Keys lists every key a config file may set, as dotted paths with "[]" for a list's items
// ("poll.options[].reaction"), in schema order; read from the struct tags, like Parse.
func Keys() []string {
	var keys []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			if t.Kind() == reflect.Slice {
				path += "[]"
			}
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(textUnmarshaler) {
			return
		}
		names, index := fieldsOf(t)
		for _, name := range names {
			key := joinKey(path, name)
			keys = append(keys, key)
			walk(t.Field(index[name]).Type, key)
		}
	}
	walk(reflect.TypeFor[Config](), "")
	return keys
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
