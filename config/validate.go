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

	d.dmAnswers(cfg)

	names := map[string]string{}
	for i, dl := range cfg.Deadlines {
		key := index("deadlines", i)
		if d.required(key, "name") {
			d.unique(d.lines[key+".name"], key+".name", dl.Name, names, key, "%q is already the name of %s (names are compared ignoring case)")
		}
		d.required(key, "date")
	}

	if d.set("poll.close_at") && cfg.Poll.CloseAt != "" {
		d.closeAt(cfg)
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

// dmAnswers checks reminders.dm_answers against the poll's answers: an answer no option gives would
// DM nobody, silently. Left out, the default (yes, maybe) must name at least one option's answer
// when DMs are on.
func (d *decoder) dmAnswers(cfg *Config) {
	const key = "reminders.dm_answers"
	answers := map[string]bool{}
	var list []string
	for _, o := range cfg.Poll.Options {
		answers[strings.ToLower(o.Answer)] = true
		list = append(list, strconv.Quote(o.Answer))
	}
	if !d.set(key) {
		// The default is whichever of yes and maybe the options give.
		var kept []string
		for _, a := range cfg.Reminders.DMAnswers {
			if answers[strings.ToLower(a)] {
				kept = append(kept, a)
			}
		}
		cfg.Reminders.DMAnswers = kept // none left: Warnings says so
		return
	}
	if len(cfg.Reminders.DMAnswers) == 0 && cfg.Reminders.DM {
		d.errorf(d.lines[key], key, "is empty, so reminder DMs would go to nobody: list answers of poll.options (%s), or set reminders.dm to false", strings.Join(list, ", "))
	}
	seen := map[string]string{}
	for i, a := range cfg.Reminders.DMAnswers {
		ikey := index(key, i)
		switch l := strings.ToLower(a); {
		case !d.set(ikey):
		case !answers[l]:
			d.errorf(d.lines[ikey], ikey, "%q is not an answer of poll.options (%s)", a, strings.Join(list, ", "))
		case seen[l] != "":
			d.errorf(d.lines[ikey], ikey, "%q is already listed as %s", a, seen[l])
		default:
			seen[l] = ikey
		}
	}
}

// closeAt checks that poll.close_at names a deadline of the file.
func (d *decoder) closeAt(cfg *Config) {
	const key = "poll.close_at"
	var names []string
	for _, dl := range cfg.Deadlines {
		if strings.EqualFold(dl.Name, cfg.Poll.CloseAt) {
			return
		}
		names = append(names, strconv.Quote(dl.Name))
	}
	if len(names) == 0 {
		d.errorf(d.lines[key], key, "%q names no deadline: there are none under deadlines", cfg.Poll.CloseAt)
		return
	}
	d.errorf(d.lines[key], key, "%q names no deadline; the deadlines are %s", cfg.Poll.CloseAt, strings.Join(names, ", "))
}

// CloseAt is when poll.close_at closes the poll: the end of its deadline's day in the zone, and the
// deadline's name; zero if close_at is not set.
func (c *Config) CloseAt() (time.Time, string) {
	if c.Poll.CloseAt == "" {
		return time.Time{}, ""
	}
	for _, dl := range c.Deadlines {
		if strings.EqualFold(dl.Name, c.Poll.CloseAt) {
			return dl.Date.AddDays(1).In(c.Timezone), dl.Name
		}
	}
	return time.Time{}, ""
}
