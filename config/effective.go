package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Effective renders the configuration in force, defaults filled in, as YAML for `internbot
// check-config`, from the same struct tags Parse decodes by, so the output is a config file that
// parses to the same configuration. The built-in posting is summarised in a comment (leaving the
// key out means the built-in posting); a posting from the file is printed in full. The config holds
// no secrets, so nothing needs masking.
func (c *Config) Effective() ([]byte, error) {
	var root yaml.Node
	if err := root.Encode(c); err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	style(&root, false)
	root.HeadComment = "effective configuration of " + displaySource(c.File) + ", defaults filled in"
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Value == "posting" {
			summary := yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{k, str(c.postingSummary())}}
			line, err := yaml.Marshal(&summary)
			if err != nil {
				return nil, fmt.Errorf("render config: %w", err)
			}
			k.HeadComment = strings.TrimSpace(string(line))
			if c.postingFrom == "" && c.Posting != nil {
				k.HeadComment += "\nthe built-in posting: leave the key out to keep it"
				root.Content = append(root.Content[:i], root.Content[i+2:]...)
				root.FootComment = k.HeadComment
			}
			break
		}
	}
	out, err := yaml.Marshal(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{&root}})
	if err != nil {
		return nil, fmt.Errorf("render config: %w", err)
	}
	return out, nil
}

// style makes the output compact and unambiguous: lists of scalars and list items made of
// one-line scalars go on one line, and strings that a YAML 1.1 reader would take for a boolean or
// null (the answer "no") are quoted.
func style(n *yaml.Node, inList bool) {
	switch n.Kind {
	case yaml.SequenceNode:
		n.Style = yaml.FlowStyle
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				n.Style = 0
			}
			style(c, true)
		}
	case yaml.MappingNode:
		flow := inList
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || strings.Contains(c.Value, "\n") || len(c.Value) > 60 {
				flow = false
			}
			style(c, false)
		}
		if flow {
			n.Style = yaml.FlowStyle
		}
	case yaml.ScalarNode:
		if n.Tag == "!!str" && yaml11Special[strings.ToLower(n.Value)] {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
}

var yaml11Special = map[string]bool{"y": true, "yes": true, "n": true, "no": true, "on": true, "off": true,
	"true": true, "false": true, "null": true, "~": true}

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

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}
