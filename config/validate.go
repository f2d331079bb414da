package config

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// validate checks the values decode set, with the lines it recorded, and fills in what follows
// from them (the zone, the question from the posting). Each check runs only on a key the file set
// to a value of the right type, so one mistake gives one message.
func (d *decoder) validate(cfg *Config) {
	if d.set("timezone") {
		d.timezone(cfg)
	}
	if d.set("channel") && cfg.Channel != "" && !channelRE.MatchString(cfg.Channel) {
		d.errorf(d.lines["channel"], "channel", "%q is not a channel id; use the id from the channel's details, like C0123ABCD, not its name", cfg.Channel)
	}
	seen := map[string]string{}
	for i, id := range cfg.Admins {
		key := index("admins", i)
		switch {
		case !d.set(key):
		case !userRE.MatchString(id):
			d.errorf(d.lines[key], key, "%q is not a user id; use the member id from the person's profile, like U0123ABCD", id)
		case seen[id] != "":
			d.errorf(d.lines[key], key, "%s is already listed as %s", id, seen[id])
		default:
			seen[id] = key
		}
	}

	if d.set("poll.question") && cfg.Poll.Question == "" {
		d.errorf(d.lines["poll.question"], "poll.question", "must not be empty; remove the key to ask the posting's question")
	}
	if d.set("poll.options") {
		d.options(cfg.Poll.Options)
	}

	if d.set("reminders.schedule") {
		if _, err := ParseSchedule(cfg.Reminders.Schedule); err != nil {
			d.errorf(d.lines["reminders.schedule"], "reminders.schedule", "%v", err)
		}
	}
	days := map[int]string{}
	for i, n := range cfg.Reminders.DaysBefore {
		key := index("reminders.days_before", i)
		switch {
		case !d.set(key):
		case n < 0 || n > maxDaysBefore:
			d.errorf(d.lines[key], key, "%d is out of range; days before a deadline go from 0 (the day itself) to %d", n, maxDaysBefore)
		case days[n] != "":
			d.errorf(d.lines[key], key, "%d is already listed as %s", n, days[n])
		default:
			days[n] = key
		}
	}

	names := map[string]string{}
	for i, dl := range cfg.Deadlines {
		key := index("deadlines", i)
		if d.required(key, "name") {
			d.unique(d.lines[key+".name"], key+".name", dl.Name, names, key, "%q is already the name of %s (names are compared ignoring case)")
		}
		d.required(key, "date")
	}

	if d.set("posting") {
		cfg.postingFrom = d.file
		if !d.failedUnder("posting") { // a wrong shape is reported already; validating it would repeat that
			for _, fe := range cfg.Posting.Validate() {
				key := "posting." + fe.Path
				d.errorf(lineOf(d.lines, key), key, "%s", fe.Msg)
			}
		}
	}
	if !d.set("poll.question") && cfg.Posting != nil {
		cfg.Poll.Question = cfg.Posting.Question
	}
}

func (d *decoder) timezone(cfg *Config) {
	line, name := d.lines["timezone"], cfg.TimezoneName
	switch name {
	case "":
		d.errorf(line, "timezone", "is empty; name an IANA time zone like America/Los_Angeles, or remove the key for UTC")
		return
	case "Local":
		d.errorf(line, "timezone", "\"Local\" depends on the server's settings; name an IANA time zone like America/Los_Angeles")
		return
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		d.errorf(line, "timezone", "unknown time zone %q; use an IANA name like America/Los_Angeles or UTC", name)
		return
	}
	cfg.Timezone = loc
}

// maxAnswerChars is Slack's limit on a button's label, which an answer is.
const maxAnswerChars = 75

func (d *decoder) options(opts []PollOption) {
	const key = "poll.options"
	switch n := len(opts); {
	case n == 0:
		d.errorf(d.lines[key], key, "must list at least one option; remove the key for yes/maybe/no")
	case n > maxOptions:
		d.errorf(d.lines[key], key, "has %d options; at most %d fit in a poll", n, maxOptions)
	}
	reactions, answers := map[string]string{}, map[string]string{}
	for i, o := range opts {
		okey := index(key, i)
		if d.required(okey, "reaction") {
			d.reaction(d.lines[okey+".reaction"], okey+".reaction", o.Reaction, reactions, okey)
		}
		if d.required(okey, "answer") {
			d.unique(d.lines[okey+".answer"], okey+".answer", o.Answer, answers, okey, "%q is already the answer of %s")
			// The answer is its button's label on the poll message.
			if n := utf8.RuneCountInString(o.Answer); n > maxAnswerChars {
				d.errorf(d.lines[okey+".answer"], okey+".answer", "is %d characters; a button label holds at most %d characters", n, maxAnswerChars)
			}
		}
	}
}

func (d *decoder) reaction(line int, key, s string, seen map[string]string, owner string) {
	switch {
	case s == "":
		d.errorf(line, key, "must not be empty")
	case strings.Contains(s, ":"):
		d.errorf(line, key, "write reaction names without colons: %q, not %q", strings.Trim(s, ":"), s)
	case !reactionRE.MatchString(s):
		d.errorf(line, key, "%q is not a reaction name; use the emoji's name as Slack shows it, like white_check_mark", s)
	case seen[s] != "":
		d.errorf(line, key, "%q is already the reaction of %s", s, seen[s])
	default:
		seen[s] = owner
	}
}

// required reports whether the list item at key (a mapping) sets field to a usable value, and says
// "is required" at the item's line when it does not set it at all.
func (d *decoder) required(key, field string) bool {
	if !d.set(key) {
		return false // the item itself is not a mapping; that is reported
	}
	if _, ok := d.lines[key+"."+field]; !ok {
		d.errorf(d.lines[key], key+"."+field, "is required")
		return false
	}
	return d.set(key + "." + field)
}

// failedUnder reports whether any key at or under path was reported wrong while decoding.
func (d *decoder) failedUnder(path string) bool {
	for k := range d.failed {
		if k == path || strings.HasPrefix(k, path+".") {
			return true
		}
	}
	return false
}

// lineOf finds the line of a key, falling back to its parent ("posting.sections[2].title" ->
// "posting.sections[2]" -> "posting") when the file leaves it out.
func lineOf(lines map[string]int, path string) int {
	for {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
}

func index(key string, i int) string { return key + "[" + strconv.Itoa(i) + "]" }
