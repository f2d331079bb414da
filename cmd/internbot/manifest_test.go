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

// TestManifestSurfaces checks the App Home, interactivity over Socket Mode (no request URL) and the
// global shortcut the bot handles.
func TestManifestSurfaces(t *testing.T) {
	data, err := os.ReadFile("../../manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			AppHome struct {
				HomeTab bool `yaml:"home_tab_enabled"`
			} `yaml:"app_home"`
			Shortcuts []struct {
				Name, Type, Description string
				CallbackID              string `yaml:"callback_id"`
			} `yaml:"shortcuts"`
		} `yaml:"features"`
		Settings struct {
			Events struct {
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled    bool   `yaml:"is_enabled"`
				RequestURL string `yaml:"request_url"`
			} `yaml:"interactivity"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if !m.Features.AppHome.HomeTab {
		t.Error("app_home.home_tab_enabled is not true")
	}
	if !m.Settings.Interactivity.Enabled || m.Settings.Interactivity.RequestURL != "" {
		t.Errorf("interactivity = %+v; want enabled, with no request URL (Socket Mode)", m.Settings.Interactivity)
	}
	if !slices.Contains(m.Settings.Events.BotEvents, "app_home_opened") {
		t.Error("bot event app_home_opened missing")
	}
	ok := false
	for _, s := range m.Features.Shortcuts {
		ok = ok || s.Type == "global" && s.CallbackID == "post_poll" && s.Name == "Post the internship poll" && s.Description != ""
	}
	if !ok {
		t.Errorf("global shortcut post_poll missing: %+v", m.Features.Shortcuts)
	}
}
