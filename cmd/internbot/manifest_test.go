package main

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestManifest checks that manifest.yaml creates the app the bot needs: Socket Mode, the command, the
// scopes behind every Web API method the bot calls, and the reaction events.
func TestManifest(t *testing.T) {
	data, err := os.ReadFile("../../manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			BotUser struct {
				DisplayName string `yaml:"display_name"`
			} `yaml:"bot_user"`
			SlashCommands []struct {
				Command string `yaml:"command"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			SocketMode    bool `yaml:"socket_mode_enabled"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
		} `yaml:"settings"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if !m.Settings.SocketMode {
		t.Error("socket_mode_enabled is not true")
	}
	if !m.Settings.Interactivity.Enabled {
		t.Error("interactivity is not enabled: the poll's buttons would not reach the bot")
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/internship" {
		t.Errorf("slash commands = %+v", m.Features.SlashCommands)
	}
	for _, scope := range []string{"commands", "chat:write", "reactions:read", "reactions:write", "im:write", "users:read", "channels:read", "groups:read", "channels:history", "groups:history", "im:history", "files:write"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, scope) {
			t.Errorf("bot scope %s missing", scope)
		}
	}
	for _, ev := range []string{"reaction_added", "reaction_removed"} {
		if !slices.Contains(m.Settings.Events.BotEvents, ev) {
			t.Errorf("bot event %s missing", ev)
		}
	}
}
