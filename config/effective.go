package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Effective renders the configuration in force, defaults filled in, as YAML
// for `internbot check-config`. The posting is summarised (where it came from
// and its section keys) rather than printed in full. The config holds no
// secrets, so nothing needs masking.
func (c *Config) Effective() ([]byte, error) {
	root := mapping(
		"timezone", str(c.TimezoneName),
		"channel", str(c.Channel),
		"admins", strList(c.Admins),
		"poll", mapping(
			"question", str(c.Poll.Question),
			"options", optionList(c.Poll.Options),
		),
		"reminders", mapping(
			"schedule", str(c.Reminders.Schedule),
			"days_before", intList(c.Reminders.DaysBefore),
			"dm", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(c.Reminders.DM)},
		),
		"deadlines", deadlineList(c.Deadlines),
		"posting", str(c.postingSummary()),
	)
	root.HeadComment = "effective configuration of " + displaySource(c.File) + ", defaults filled in"
	out, err := yaml.Marshal(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}})
	if err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	return out, nil
}

func displaySource(file string) string {
	if file == "" {
		return "the built-in defaults"
	}
	return file
}

func (c *Config) postingSummary() string {
	if c.Posting == nil {
		return "<none>"
	}
	from := "<embedded default>"
	if c.postingFrom != "" {
		from = "<from " + c.postingFrom + ">"
	}
	keys := make([]string, len(c.Posting.Sections))
	for i, s := range c.Posting.Sections {
		keys[i] = s.Key
	}
	return fmt.Sprintf("%s sections: %s", from, strings.Join(keys, ", "))
}

func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// quoted is for values YAML 1.1 readers would misread, like the answer "no".
func quoted(s string) *yaml.Node {
	n := str(s)
	n.Style = yaml.DoubleQuotedStyle
	return n
}

func strList(items []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range items {
		n.Content = append(n.Content, str(s))
	}
	return n
}

func intList(items []int) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, i := range items {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)})
	}
	return n
}

func optionList(opts []PollOption) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode}
	for _, o := range opts {
		m := mapping("reaction", str(o.Reaction), "answer", quoted(o.Answer))
		m.Style = yaml.FlowStyle
		n.Content = append(n.Content, m)
	}
	return n
}

func deadlineList(ds []Deadline) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode}
	if len(ds) == 0 {
		n.Style = yaml.FlowStyle
	}
	for _, d := range ds {
		m := mapping("name", quoted(d.Name), "date", &yaml.Node{Kind: yaml.ScalarNode, Value: d.Date.String()})
		m.Style = yaml.FlowStyle
		n.Content = append(n.Content, m)
	}
	return n
}
