package config_test

import (
	"strings"
	"testing"

	"github.com/internbot/internbot/config"
)

func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestEnvFrom(t *testing.T) {
	t.Run("OKDefaults", func(t *testing.T) {
		e := config.EnvFrom(getenv(nil))
		want := config.Env{APIURL: "https://slack.com/api/", DBPath: "internbot.db", LogLevel: "info"}
		if e != want {
			t.Fatalf("EnvFrom = %+v, want %+v", e, want)
		}
	})
	t.Run("OK", func(t *testing.T) {
		e := config.EnvFrom(getenv(map[string]string{
			"SLACK_BOT_TOKEN":     " xoxb-1-2-abc\n",
			"SLACK_APP_TOKEN":     "xapp-1-A-2-def",
			"SLACK_API_URL":       "http://127.0.0.1:8080/api",
			"INTERNBOT_CONFIG":    "/etc/internbot.yaml",
			"INTERNBOT_DB":        "/var/lib/internbot.db",
			"INTERNBOT_HTTP_ADDR": ":9090",
			"INTERNBOT_LOG_LEVEL": "DEBUG",
		}))
		want := config.Env{BotToken: "xoxb-1-2-abc", AppToken: "xapp-1-A-2-def", APIURL: "http://127.0.0.1:8080/api/",
			ConfigPath: "/etc/internbot.yaml", DBPath: "/var/lib/internbot.db", HTTPAddr: ":9090", LogLevel: "debug"}
		if e != want {
			t.Fatalf("EnvFrom = %+v, want %+v", e, want)
		}
		if err := e.ValidateTokens(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestValidateTokens(t *testing.T) {
	const bot, app = "xoxb-123-456-SECRETSECRETSECRET", "xapp-1-A2-789-SECRETSECRETSECRET"
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"ErrBotMissing", map[string]string{"SLACK_APP_TOKEN": app}, "SLACK_BOT_TOKEN is not set"},
		{"ErrAppMissing", map[string]string{"SLACK_BOT_TOKEN": bot}, "SLACK_APP_TOKEN is not set"},
		{"ErrBotIsApp", map[string]string{"SLACK_BOT_TOKEN": app, "SLACK_APP_TOKEN": app}, `SLACK_BOT_TOKEN must start with "xoxb-" (got "xapp-…")`},
		{"ErrAppIsBot", map[string]string{"SLACK_BOT_TOKEN": bot, "SLACK_APP_TOKEN": bot}, `SLACK_APP_TOKEN must start with "xapp-" (got "xoxb-…")`},
		{"ErrGarbage", map[string]string{"SLACK_BOT_TOKEN": "SECRETSECRET", "SLACK_APP_TOKEN": app}, `SLACK_BOT_TOKEN must start with "xoxb-" (got "…")`},
		{"ErrPrefixOnly", map[string]string{"SLACK_BOT_TOKEN": "xoxb-", "SLACK_APP_TOKEN": app}, "SLACK_BOT_TOKEN is only"},
		{"ErrSpace", map[string]string{"SLACK_BOT_TOKEN": "xoxb-SECRET SECRET", "SLACK_APP_TOKEN": app}, "SLACK_BOT_TOKEN contains spaces"},
		{"ErrURLRelative", map[string]string{"SLACK_BOT_TOKEN": bot, "SLACK_APP_TOKEN": app, "SLACK_API_URL": "/api/"}, "SLACK_API_URL must be an absolute http(s) URL"},
		{"ErrURLScheme", map[string]string{"SLACK_BOT_TOKEN": bot, "SLACK_APP_TOKEN": app, "SLACK_API_URL": "ftp://x/"}, "SLACK_API_URL must be an absolute http(s) URL"},
		{"ErrURLPassword", map[string]string{"SLACK_BOT_TOKEN": bot, "SLACK_APP_TOKEN": app, "SLACK_API_URL": "ftp://u:SECRET@x/"}, "SLACK_API_URL"},
		{"ErrBoth", nil, "SLACK_BOT_TOKEN is not set; SLACK_APP_TOKEN is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := config.EnvFrom(getenv(tt.env)).ValidateTokens()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ValidateTokens = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error leaks a secret or spans lines: %q", err)
			}
		})
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  "",
		"xoxb-123-456-abcdefghijklmnopWXYZ": "xoxb-…WXYZ",
		"xoxb-short":                        "xoxb-…",
		"nodashatallbutquitelongtokenABCD":  "…ABCD",
		"secret-with-late-dash":             "…",
	} {
		if got := config.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://slack.com/api/":                 "https://slack.com/api/",
		"http://user:pw@proxy:3128/api/":         "http://xxxxx@proxy:3128/api/",
		"http://user@proxy/api/":                 "http://xxxxx@proxy/api/",
		"http://us@er:p@w@proxy/a@b/":            "http://xxxxx@proxy/a@b/",
		"http://user:pw@proxy/%zz":               "http://xxxxx@proxy/%zz",
		"user:pw@proxy/api/":                     "xxxxx@proxy/api/",
		"http://proxy/api/?to=someone@somewhere": "http://proxy/api/?to=someone@somewhere",
	} {
		if got := config.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
