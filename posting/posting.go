// Package posting owns the internship posting as data: the structured
// Posting with its sections, the embedded default (default.yaml, structured
// by hand from shared/seed-posting.txt), its YAML schema and validation, and
// the matcher that maps a free-text question ("how much does it pay?") to
// the sections that answer it.
//
// It knows nothing about Slack, storage or configuration files (it must not
// import slack-go or another internbot package); the config
// package decodes a replacement posting by the yaml tags below, with its own
// decoder so it can report line numbers, and then calls Validate.
package posting

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Posting is the internship posting the bot answers questions about.
type Posting struct {
	Title    string    `yaml:"title"`
	Question string    `yaml:"question"` // the poll question
	Summary  string    `yaml:"summary"`
	Sections []Section `yaml:"sections"`
}

// Section is one answerable part of the posting.
type Section struct {
	Key     string   `yaml:"key"`     // short id, also a keyword: "pay", "tech-stack"
	Title   string   `yaml:"title"`   // display title: "Pay"
	Aliases []string `yaml:"aliases"` // other words people use for it: "salary", "how much"
	Body    string   `yaml:"body"`    // plain text; bullet lines start with "• "
}

// FieldError is one validation problem. Path names the field the way the
// YAML spells it, e.g. "sections[2].key", so callers can map it to a line.
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) Error() string { return e.Path + ": " + e.Msg }

//go:embed default.yaml
var defaultYAML []byte

var (
	defaultOnce    sync.Once
	defaultPosting *Posting
)

// Default returns a fresh copy of the embedded posting. The embedded file is
// parsed once; it panics only if that file is broken, which the tests rule out.
func Default() *Posting {
	defaultOnce.Do(func() {
		p, err := Parse(defaultYAML)
		if err != nil {
			panic(fmt.Sprintf("posting: embedded default.yaml: %v", err))
		}
		defaultPosting = p
	})
	return defaultPosting.Clone()
}

// Clone returns a deep copy, so callers may edit it without touching the original.
func (p *Posting) Clone() *Posting {
	if p == nil {
		return nil
	}
	c := *p
	c.Sections = make([]Section, len(p.Sections))
	for i, s := range p.Sections {
		s.Aliases = append([]string(nil), s.Aliases...)
		c.Sections[i] = s
	}
	return &c
}

// Parse decodes a posting from YAML strictly (unknown keys and multiple
// documents are errors) and validates it.
func Parse(data []byte) (*Posting, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Posting
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("parse posting: empty document")
		}
		return nil, fmt.Errorf("parse posting: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse posting: more than one YAML document")
	}
	if errs := p.Validate(); len(errs) > 0 {
		joined := make([]error, len(errs))
		for i, e := range errs {
			joined[i] = e
		}
		return nil, fmt.Errorf("invalid posting: %w", errors.Join(joined...))
	}
	return &p, nil
}

var keyRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Validate reports every problem with p, in field order; nil means valid.
func (p *Posting) Validate() []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(p.Title) == "" {
		add("title", "is required")
	}
	if strings.TrimSpace(p.Question) == "" {
		add("question", "is required")
	}
	if len(p.Sections) == 0 {
		add("sections", "at least one section is required")
	}
	seen := make(map[string]int, len(p.Sections))
	for i, s := range p.Sections {
		path := fmt.Sprintf("sections[%d]", i)
		switch {
		case s.Key == "":
			add(path+".key", "is required")
		case !keyRE.MatchString(s.Key):
			add(path+".key", "%q must be lowercase letters, digits and single dashes, like \"tech-stack\"", s.Key)
		default:
			if j, dup := seen[s.Key]; dup {
				add(path+".key", "%q is already used by sections[%d]", s.Key, j)
			} else {
				seen[s.Key] = i
			}
		}
		if strings.TrimSpace(s.Title) == "" {
			add(path+".title", "is required")
		}
		if strings.TrimSpace(s.Body) == "" {
			add(path+".body", "is required")
		}
		for j, a := range s.Aliases {
			if strings.TrimSpace(a) == "" {
				add(fmt.Sprintf("%s.aliases[%d]", path, j), "must not be empty")
			}
		}
	}
	return errs
}

// Section returns the section with the given key (case-insensitive).
func (p *Posting) Section(key string) (*Section, bool) {
	key = strings.ToLower(strings.TrimSpace(key))
	for i := range p.Sections {
		if p.Sections[i].Key == key {
			return &p.Sections[i], true
		}
	}
	return nil, false
}
