package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Env is the part of the configuration that comes from the environment:
// secrets and deployment paths, never the file.
type Env struct {
	BotToken   string // SLACK_BOT_TOKEN, "xoxb-…"
	AppToken   string // SLACK_APP_TOKEN, "xapp-…" (Socket Mode)
	APIURL     string // SLACK_API_URL, always ending in "/"
	ConfigPath string // INTERNBOT_CONFIG; "" = built-in defaults
	DBPath     string // INTERNBOT_DB
	HTTPAddr   string // INTERNBOT_HTTP_ADDR; "" = no HTTP listener
	LogLevel   string // INTERNBOT_LOG_LEVEL: debug, info, warn, error
}

// Environment defaults.
const (
	DefaultAPIURL   = "https://slack.com/api/"
	DefaultDBPath   = "internbot.db"
	DefaultLogLevel = "info"
)

// EnvFrom reads the environment through getenv (os.Getenv in production, a
// map in tests), trimming stray whitespace and filling in defaults. It does
// not validate; see ValidateTokens.
func EnvFrom(getenv func(string) string) Env {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	e := Env{
		BotToken:   get("SLACK_BOT_TOKEN", ""),
		AppToken:   get("SLACK_APP_TOKEN", ""),
		APIURL:     get("SLACK_API_URL", DefaultAPIURL),
		ConfigPath: get("INTERNBOT_CONFIG", ""),
		DBPath:     get("INTERNBOT_DB", DefaultDBPath),
		HTTPAddr:   get("INTERNBOT_HTTP_ADDR", ""),
		LogLevel:   strings.ToLower(get("INTERNBOT_LOG_LEVEL", DefaultLogLevel)),
	}
	// slack-go joins method names onto the URL, so it must end in a slash.
	if !strings.HasSuffix(e.APIURL, "/") {
		e.APIURL += "/"
	}
	return e
}

// ValidateTokens checks that both Slack tokens are set and of the right kind,
// and that SLACK_API_URL is an absolute http(s) URL. The error is one line,
// names each bad variable and never contains a token.
func (e Env) ValidateTokens() error { return e.validate(true) }

// ValidateBotToken is ValidateTokens for commands that use only the Web API (no Socket Mode), such as
// `internbot remind`: the app-level token is not needed.
func (e Env) ValidateBotToken() error { return e.validate(false) }

func (e Env) validate(appToken bool) error {
	var problems []string
	if msg := checkToken("SLACK_BOT_TOKEN", e.BotToken, "xoxb-"); msg != "" {
		problems = append(problems, msg)
	}
	if appToken {
		if msg := checkToken("SLACK_APP_TOKEN", e.AppToken, "xapp-"); msg != "" {
			problems = append(problems, msg)
		}
	}
	if msg := checkAPIURL(e.APIURL); msg != "" {
		problems = append(problems, msg)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func checkToken(name, token, prefix string) string {
	switch {
	case token == "":
		return fmt.Sprintf("%s is not set", name)
	case !strings.HasPrefix(token, prefix):
		return fmt.Sprintf("%s must start with %q (got %q)", name, prefix, tokenPrefix(token)+"…")
	case len(token) == len(prefix):
		return fmt.Sprintf("%s is only the %q prefix", name, prefix)
	case strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Sprintf("%s contains spaces or control characters", name)
	}
	return ""
}

func checkAPIURL(raw string) string {
	const what = "SLACK_API_URL must be an absolute http(s) URL"
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("%s (got %q)", what, truncate(RedactURL(raw), 80))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Sprintf("%s (got %q)", what, truncate(RedactURL(raw), 80))
	}
	return ""
}

// RedactURL returns raw with its userinfo (a proxy's "user:password@") replaced by "xxxxx@", for
// showing a URL in logs and output. It works on the text, so a URL that does not parse is masked too.
func RedactURL(raw string) string {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + len("://")
	}
	end := len(raw)
	if i := strings.IndexAny(raw[start:], "/?#"); i >= 0 {
		end = start + i
	}
	at := strings.LastIndexByte(raw[start:end], '@')
	if at < 0 {
		return raw
	}
	return raw[:start] + "xxxxx" + raw[start+at:]
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// tokenPrefix returns the kind prefix of a Slack token ("xoxb-"), or "" when
// the token does not look like one, so that nothing secret is shown.
func tokenPrefix(token string) string {
	i := strings.IndexByte(token, '-')
	if i < 1 || i > 5 {
		return ""
	}
	for _, r := range token[:i] {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return ""
		}
	}
	return token[:i+1]
}

// Mask returns a form of token safe for logs: its kind prefix and, for a
// token long enough that four characters give nothing away, its last four:
// "xoxb-…ABCD".
func Mask(token string) string {
	if token == "" {
		return ""
	}
	m := tokenPrefix(token) + "…"
	if r := []rune(token); len(r) >= 24 {
		m += string(r[len(r)-4:])
	}
	return m
}
