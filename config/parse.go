package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/internbot/internbot/posting"
	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// maxErrors stops a hopeless file (say, a binary pasted in) from producing
// thousands of lines.
const maxErrors = 50

var (
	channelRE  = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	userRE     = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	reactionRE = regexp.MustCompile(`^[a-z0-9_+'-]+$`)
)

// Parse parses and validates a config file's contents; file names it in
// errors. An empty file means all defaults. On failure the error is Errors.
func Parse(data []byte, file string) (cfg *Config, err error) {
	defer func() {
		// The YAML and cron libraries have panicked on odd input before;
		// a config file must never take the process down.
		if r := recover(); r != nil {
			cfg, err = nil, Errors{{File: file, Msg: fmt.Sprintf("cannot parse this file: %v", r)}}
		}
	}()
	d := &decoder{file: file}
	cfg = d.parse(data)
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
		if len(d.errs) > maxErrors {
			d.errs = append(d.errs[:maxErrors], &Error{File: file, Msg: fmt.Sprintf("and %d more problems", len(d.errs)-maxErrors)})
		}
		return nil, d.errs
	}
	return cfg, nil
}

type decoder struct {
	file string
	errs Errors
}

func (d *decoder) errorf(line int, key, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) parse(data []byte) *Config {
	cfg := Default()
	cfg.File = d.file

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg // empty, or only comments: all defaults
		}
		d.yamlError(data, err)
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.yamlError(data, err)
	default:
		d.errorf(extra.Line, "", "the file holds more than one YAML document (a second \"---\"); put all settings in one")
	}

	if len(doc.Content) == 0 {
		return cfg
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return cfg
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root.Line, "", "the file must be a mapping of settings (timezone:, channel:, poll:, …), not %s", describe(root))
		return nil
	}

	var questionSet bool
	d.mapping(root, "", func(key string, k, v *yaml.Node) {
		switch k.Value {
		case "timezone":
			d.timezone(cfg, key, v)
		case "channel":
			if s, ok := d.str(v, key); ok && s != "" {
				if !channelRE.MatchString(s) {
					d.errorf(v.Line, key, "%q is not a channel id; use the id from the channel's details, like C0123ABCD, not its name", s)
				}
				cfg.Channel = s
			}
		case "admins":
			cfg.Admins = d.admins(key, v)
		case "poll":
			questionSet = d.poll(cfg, key, v)
		case "reminders":
			d.reminders(cfg, key, v)
		case "deadlines":
			cfg.Deadlines = d.deadlines(key, v)
		case "posting":
			if p := d.posting(key, v); p != nil {
				cfg.Posting = p
				cfg.postingFrom = d.file
			}
		default:
			d.unknown(k, key, "timezone", "channel", "admins", "poll", "reminders", "deadlines", "posting")
		}
	})
	if !questionSet && cfg.Posting != nil {
		cfg.Poll.Question = cfg.Posting.Question
	}
	return cfg
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError reports a syntax error. The parser gives a line for most of them;
// for the rest, the line is found by parsing ever longer prefixes of the file.
func (d *decoder) yamlError(data []byte, err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.errorf(line, "", "not valid YAML: %s", m[2])
		return
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	d.errorf(firstBadLine(data, msg), "", "not valid YAML: %s", msg)
}

// firstBadLine finds the shortest prefix of data, in whole lines, that fails
// to parse with the same message, by binary search; 0 if there is none.
func firstBadLine(data []byte, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	fails := func(n int) bool {
		dec := yaml.NewDecoder(bytes.NewReader(bytes.Join(lines[:n], nil)))
		for {
			var n yaml.Node
			err := dec.Decode(&n)
			if err == nil {
				continue
			}
			return !errors.Is(err, io.EOF) && strings.TrimPrefix(err.Error(), "yaml: ") == msg
		}
	}
	if !fails(len(lines)) {
		return 0
	}
	lo, hi := 1, len(lines)
	for lo < hi {
		mid := (lo + hi) / 2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// mapping walks the pairs of a mapping node, reporting duplicate and
// non-scalar keys, and calls fn with each key's dotted path.
func (d *decoder) mapping(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node)) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "must be a mapping of keys to values, not %s", describe(n))
		return false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, path, "keys must be plain names, not %s", describe(k))
			continue
		}
		key := joinKey(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, key, "is set twice (first on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		fn(key, k, v)
	}
	return true
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) unknown(k *yaml.Node, key string, known ...string) {
	msg := "unknown key"
	best, bestDist := "", 3
	for _, name := range known {
		if dist := levenshtein(strings.ToLower(k.Value), name); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if best != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", best)
	} else {
		msg += fmt.Sprintf("; known keys here: %s", strings.Join(known, ", "))
	}
	d.errorf(k.Line, key, "%s", msg)
}

// sequence walks a list node; null counts as an empty list.
func (d *decoder) sequence(n *yaml.Node, path string, fn func(i int, key string, item *yaml.Node)) bool {
	n = resolve(n)
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, path, "must be a list, not %s", describe(n))
		return false
	}
	for i, item := range n.Content {
		fn(i, fmt.Sprintf("%s[%d]", path, i), resolve(item))
	}
	return true
}

// str reads a scalar as text; numbers are fine ("answer: 1"), null is "".
func (d *decoder) str(n *yaml.Node, key string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, key, "must be a string, not %s", describe(n))
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	return strings.TrimSpace(n.Value), true
}

func (d *decoder) boolean(n *yaml.Node, key string) (bool, bool) {
	n = resolve(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.errorf(n.Line, key, "must be true or false, not %s", describe(n))
		return false, false
	}
	return b, true
}

func (d *decoder) integer(n *yaml.Node, key string) (int, bool) {
	n = resolve(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		d.errorf(n.Line, key, "must be a whole number, not %s", describe(n))
		return 0, false
	}
	return i, true
}

func (d *decoder) timezone(cfg *Config, key string, v *yaml.Node) {
	name, ok := d.str(v, key)
	if !ok {
		return
	}
	switch name {
	case "":
		d.errorf(v.Line, key, "is empty; name an IANA time zone like America/Los_Angeles, or remove the key for UTC")
		return
	case "Local":
		d.errorf(v.Line, key, "\"Local\" depends on the server's settings; name an IANA time zone like America/Los_Angeles")
		return
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		d.errorf(v.Line, key, "unknown time zone %q; use an IANA name like America/Los_Angeles or UTC", name)
		return
	}
	cfg.Timezone, cfg.TimezoneName = loc, name
}

func (d *decoder) admins(key string, v *yaml.Node) []string {
	var admins []string
	seen := map[string]string{}
	d.sequence(v, key, func(_ int, ikey string, item *yaml.Node) {
		id, ok := d.str(item, ikey)
		switch {
		case !ok:
		case !userRE.MatchString(id):
			d.errorf(item.Line, ikey, "%q is not a user id; use the member id from the person's profile, like U0123ABCD", id)
		case seen[id] != "":
			d.errorf(item.Line, ikey, "%s is already listed as %s", id, seen[id])
		default:
			seen[id] = ikey
			admins = append(admins, id)
		}
	})
	return admins
}

// poll decodes the poll settings and reports whether the question was set.
func (d *decoder) poll(cfg *Config, key string, v *yaml.Node) (questionSet bool) {
	if isNull(resolve(v)) {
		return false
	}
	d.mapping(v, key, func(key string, k, v *yaml.Node) {
		switch k.Value {
		case "question":
			if q, ok := d.str(v, key); ok {
				questionSet = true
				if q == "" {
					d.errorf(v.Line, key, "must not be empty; remove the key to ask the posting's question")
				}
				cfg.Poll.Question = q
			}
		case "options":
			cfg.Poll.Options = d.options(key, v)
		default:
			d.unknown(k, key, "question", "options")
		}
	})
	return questionSet
}

func (d *decoder) options(key string, v *yaml.Node) []PollOption {
	var opts []PollOption
	reactions, answers := map[string]string{}, map[string]string{}
	n := 0
	d.sequence(v, key, func(_ int, okey string, item *yaml.Node) {
		n++
		var opt PollOption
		var line [2]int
		if !d.mapping(item, okey, func(key string, k, v *yaml.Node) {
			switch k.Value {
			case "reaction":
				line[0] = v.Line
				if s, ok := d.str(v, key); ok {
					d.reaction(v.Line, key, s, reactions, okey)
					opt.Reaction = s
				}
			case "answer":
				line[1] = v.Line
				if s, ok := d.str(v, key); ok {
					d.unique(v.Line, key, s, answers, okey, "%q is already the answer of %s")
					opt.Answer = s
				}
			default:
				d.unknown(k, key, "reaction", "answer")
			}
		}) {
			return
		}
		if line[0] == 0 {
			d.errorf(item.Line, okey+".reaction", "is required")
		}
		if line[1] == 0 {
			d.errorf(item.Line, okey+".answer", "is required")
		}
		opts = append(opts, opt)
	})
	node := resolve(v)
	switch {
	case n == 0 && (isNull(node) || node.Kind == yaml.SequenceNode):
		d.errorf(node.Line, key, "must list at least one option; remove the key for yes/maybe/no")
	case n > maxOptions:
		d.errorf(node.Line, key, "has %d options; at most %d fit in a poll", n, maxOptions)
	}
	return opts
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

func (d *decoder) reminders(cfg *Config, key string, v *yaml.Node) {
	if isNull(resolve(v)) {
		return
	}
	d.mapping(v, key, func(key string, k, v *yaml.Node) {
		switch k.Value {
		case "schedule":
			if s, ok := d.str(v, key); ok {
				if _, err := ParseSchedule(s); err != nil {
					d.errorf(v.Line, key, "%v", err)
				}
				cfg.Reminders.Schedule = s
			}
		case "days_before":
			days := []int{}
			seen := map[int]string{}
			d.sequence(v, key, func(_ int, ikey string, item *yaml.Node) {
				n, ok := d.integer(item, ikey)
				switch {
				case !ok:
				case n < 0 || n > maxDaysBefore:
					d.errorf(item.Line, ikey, "%d is out of range; days before a deadline go from 0 (the day itself) to %d", n, maxDaysBefore)
				case seen[n] != "":
					d.errorf(item.Line, ikey, "%d is already listed as %s", n, seen[n])
				default:
					seen[n] = ikey
					days = append(days, n)
				}
			})
			cfg.Reminders.DaysBefore = days
		case "dm":
			if b, ok := d.boolean(v, key); ok {
				cfg.Reminders.DM = b
			}
		default:
			d.unknown(k, key, "schedule", "days_before", "dm")
		}
	})
}

func (d *decoder) deadlines(key string, v *yaml.Node) []Deadline {
	var out []Deadline
	names := map[string]string{}
	d.sequence(v, key, func(_ int, dkey string, item *yaml.Node) {
		var dl Deadline
		var hasName, hasDate bool
		if !d.mapping(item, dkey, func(key string, k, v *yaml.Node) {
			switch k.Value {
			case "name":
				hasName = true
				if s, ok := d.str(v, key); ok {
					d.unique(v.Line, key, s, names, dkey, "%q is already the name of %s (names are compared ignoring case)")
					dl.Name = s
				}
			case "date":
				hasDate = true
				// Read the text, not a decoded value: YAML would turn
				// 2026-12-15 into a timestamp at midnight UTC.
				if s, ok := d.str(v, key); ok {
					date, err := ParseDate(s)
					if err != nil {
						d.errorf(v.Line, key, "%v", err)
					}
					dl.Date = date
				}
			default:
				d.unknown(k, key, "name", "date")
			}
		}) {
			return
		}
		if !hasName {
			d.errorf(item.Line, dkey+".name", "is required")
		}
		if !hasDate {
			d.errorf(item.Line, dkey+".date", "is required")
		}
		out = append(out, dl)
	})
	return out
}

// posting decodes a replacement posting by hand rather than with
// yaml.Decode, so every validation error can point at its line.
func (d *decoder) posting(key string, v *yaml.Node) *posting.Posting {
	if isNull(resolve(v)) {
		return nil
	}
	var p posting.Posting
	lines := map[string]int{"": resolve(v).Line} // posting path -> line
	before := len(d.errs)
	ok := d.mapping(v, key, func(fkey string, k, v *yaml.Node) {
		lines[k.Value] = v.Line
		switch k.Value {
		case "title":
			p.Title, _ = d.str(v, fkey)
		case "question":
			p.Question, _ = d.str(v, fkey)
		case "summary":
			p.Summary, _ = d.str(v, fkey)
		case "sections":
			d.sequence(v, fkey, func(i int, skey string, item *yaml.Node) {
				spath := fmt.Sprintf("sections[%d]", i)
				lines[spath] = item.Line
				var s posting.Section
				d.mapping(item, skey, func(key string, k, v *yaml.Node) {
					lines[spath+"."+k.Value] = v.Line
					switch k.Value {
					case "key":
						s.Key, _ = d.str(v, key)
					case "title":
						s.Title, _ = d.str(v, key)
					case "body":
						s.Body, _ = d.str(v, key)
					case "aliases":
						d.sequence(v, key, func(j int, akey string, a *yaml.Node) {
							lines[fmt.Sprintf("%s.aliases[%d]", spath, j)] = a.Line
							alias, _ := d.str(a, akey)
							s.Aliases = append(s.Aliases, alias)
						})
					default:
						d.unknown(k, key, "key", "title", "aliases", "body")
					}
				})
				p.Sections = append(p.Sections, s)
			})
		default:
			d.unknown(k, fkey, "title", "question", "summary", "sections")
		}
	})
	if !ok || len(d.errs) > before {
		return nil // the shape is wrong; validating it would only repeat that
	}
	for _, fe := range p.Validate() {
		d.errorf(lineOf(lines, fe.Path), joinKey(key, fe.Path), "%s", fe.Msg)
	}
	return &p
}

// lineOf finds the line of a posting field, falling back to its parent
// ("sections[2].title" -> "sections[2]" -> "") when the field is missing.
func lineOf(lines map[string]int, path string) int {
	for {
		if l, ok := lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return lines[""]
		}
		path = path[:i]
	}
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule validates a reminder schedule the way the config does: a
// five-field cron spec or a descriptor such as @daily or @every 1h. A
// CRON_TZ= or TZ= prefix is refused because the zone comes from `timezone`
// (and robfig/cron panics on a bare "CRON_TZ=UTC"). The schedule's location
// is left as the cron runner's.
func ParseSchedule(spec string) (s cron.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	upper := strings.ToUpper(spec)
	switch {
	case spec == "":
		return nil, errors.New("must not be empty; use a cron spec like \"0 9 * * *\" or @daily")
	case strings.HasPrefix(upper, "CRON_TZ=") || strings.HasPrefix(upper, "TZ="):
		return nil, errors.New("must not set a time zone (CRON_TZ= or TZ=); the zone comes from `timezone`")
	}
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("%q is not a valid cron spec", spec)
		}
	}()
	s, err = cronParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid cron spec (%v); use five fields, minute hour day-of-month month day-of-week, like \"0 9 * * *\", or @daily, @every 12h", spec, err)
	}
	if c, ok := s.(cron.ConstantDelaySchedule); ok && c.Delay < time.Minute {
		return nil, fmt.Errorf("%q is too often; @every needs at least 1m", spec)
	}
	return s, nil
}

// unique checks that s is not empty and, ignoring case, not already in seen (which maps a value to
// the key that has it); taken is the message for a repeat, with the value and that key.
func (d *decoder) unique(line int, key, s string, seen map[string]string, owner, taken string) {
	lower := strings.ToLower(s)
	switch {
	case s == "":
		d.errorf(line, key, "must not be empty")
	case seen[lower] != "":
		d.errorf(line, key, taken, s, seen[lower])
	default:
		seen[lower] = owner
	}
}

// resolve follows YAML aliases (*name) to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "must be X, not Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "empty"
		}
		v := n.Value
		if r := []rune(v); len(r) > 40 {
			v = string(r[:40]) + "…"
		}
		return strconv.Quote(v)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
