package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
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
	d := &decoder{file: file, lines: map[string]int{}, failed: map[string]bool{}}
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
	file   string
	errs   Errors
	lines  map[string]int  // key path ("poll.options[1].answer") -> line of its value, for each key set
	failed map[string]bool // key paths whose value is of the wrong type, or that are unknown or repeated
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
	d.decode(root, "", reflect.ValueOf(cfg).Elem())
	d.validate(cfg)
	if len(d.lines) > 0 {
		cfg.lines = d.lines
	}
	return cfg
}

// decode sets v from n by v's type and its fields' yaml tags: the Config struct is the schema, so
// this is the only code that knows the file's shape. A key the file leaves out, or sets to null
// where a mapping goes, keeps v's value (the default). Each key set is recorded in d.lines and each
// key whose value is wrong in itself (its type, an unknown or repeated key) in d.failed; decoding
// goes on, so every problem is reported.
func (d *decoder) decode(n *yaml.Node, key string, v reflect.Value) {
	n = resolve(n)
	if isNull(n) && (v.Kind() == reflect.Struct || v.Kind() == reflect.Pointer) {
		return
	}
	if key != "" {
		d.lines[key] = n.Line
	}
	ok := true
	if u, isText := v.Addr().Interface().(encoding.TextUnmarshaler); isText {
		// Read the text, not a decoded value: YAML would turn 2026-12-15 into a timestamp.
		var s string
		if s, ok = d.str(n, key); ok {
			if err := u.UnmarshalText([]byte(s)); err != nil {
				d.errorf(n.Line, key, "%v", err)
				ok = false
			}
		}
		d.failed[key] = !ok
		return
	}
	switch v.Kind() {
	case reflect.String:
		var s string
		if s, ok = d.str(n, key); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		var b bool
		if b, ok = d.boolean(n, key); ok {
			v.SetBool(b)
		}
	case reflect.Int:
		var i int
		if i, ok = d.integer(n, key); ok {
			v.SetInt(int64(i))
		}
	case reflect.Slice:
		list := reflect.MakeSlice(v.Type(), 0, len(n.Content))
		if ok = d.sequence(n, key, func(_ int, ikey string, item *yaml.Node) {
			elem := reflect.New(v.Type().Elem()).Elem()
			if elem.Kind() == reflect.Struct && isNull(item) {
				d.errorf(item.Line, ikey, "must be a mapping of keys to values, not empty")
				d.failed[ikey] = true
			} else {
				d.decode(item, ikey, elem)
			}
			list = reflect.Append(list, elem) // even when bad, so that list[i] is the file's item i
		}); ok {
			if list.Len() == 0 {
				list = reflect.Zero(v.Type())
			}
			v.Set(list)
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem()) // a new value replaces the default as a whole
		d.decode(n, key, p.Elem())
		v.Set(p)
	case reflect.Struct:
		names, index := fieldsOf(v.Type())
		ok = d.mapping(n, key, func(fkey string, k, val *yaml.Node) {
			i, known := index[k.Value]
			if !known {
				d.unknown(k, fkey, names...)
				d.failed[fkey] = true
				return
			}
			d.decode(val, fkey, v.Field(i))
		})
	default:
		panic(fmt.Sprintf("config: the schema has a field of kind %v at %q, which decode does not know", v.Kind(), key))
	}
	if !ok {
		d.failed[key] = true
	}
}

// fieldsOf returns the YAML keys of struct type t, in field order, and the field index of each.
func fieldsOf(t reflect.Type) (names []string, index map[string]int) {
	index = map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		names = append(names, name)
		index[name] = i
	}
	return names, index
}

// set reports whether the file set key to a value that decoded without error: only those values
// are worth validating further.
func (d *decoder) set(key string) bool {
	_, ok := d.lines[key]
	return ok && !d.failed[key]
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError reports a syntax error. The parser gives a line for most of them;
// for the rest, the line is found by parsing ever longer prefixes of the file.
func (d *decoder) yamlError(data []byte, err error) {
	msg := err.Error()
	var line int
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		line = firstBadLine(data, msg)
	}
	// The parser's message for a tab in the indentation rarely says "tab".
	if lines := bytes.Split(data, []byte("\n")); line > 0 && line <= len(lines) && !strings.Contains(msg, "tab") {
		if indent := lines[line-1][:len(lines[line-1])-len(bytes.TrimLeft(lines[line-1], " \t-"))]; bytes.ContainsRune(indent, '\t') {
			msg += "; the line is indented with a tab, and YAML indents with spaces only"
		}
	}
	if strings.Contains(msg, "tab") && !strings.Contains(msg, "spaces") {
		msg += "; YAML indents with spaces only"
	}
	d.errorf(line, "", "not valid YAML: %s", msg)
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
			d.failed[path] = true
			continue
		}
		key := joinKey(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, key, "is set twice (first on line %d)", first)
			d.failed[key] = true
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
		if dist := posting.EditDistance(strings.ToLower(k.Value), name, bestDist); dist < bestDist {
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
