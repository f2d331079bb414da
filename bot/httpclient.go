package bot

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot/config"
)

// HTTPDoer is what slack.OptionHTTPClient takes: the client every Web API call goes through.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// RedactURLErrors wraps c so that the URL in its errors carries no user or password. Go's HTTP client
// hides only the password of a URL with credentials (a proxy's, in SLACK_API_URL) and keeps the user
// name; the bot logs and returns these errors.
func RedactURLErrors(c HTTPDoer) HTTPDoer { return redactingClient{c} }

type redactingClient struct{ next HTTPDoer }

func (c redactingClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(r)
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = config.RedactURL(ue.URL)
	}
	return resp, err
}

// webhookClient posts to response_urls. slack-go's default for them is http.DefaultClient, which has
// no timeout.
var webhookClient = &http.Client{Timeout: 10 * time.Second}

// postResponse posts msg to a response_url. The URL is a secret (anyone holding it can post to the
// channel for 30 minutes), so an error names only its host. (slack-go flattens the HTTP client's
// error into its own text, so the URL is cut from the text.)
func postResponse(ctx context.Context, responseURL string, msg *slack.WebhookMessage) error {
	err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, webhookClient, msg)
	if err == nil {
		return nil
	}
	shown, path := "response_url", ""
	if u, perr := url.Parse(responseURL); perr == nil && u.Host != "" {
		shown, path = u.Scheme+"://"+u.Host+"/…", u.Path
	}
	text := strings.ReplaceAll(err.Error(), responseURL, shown)
	if len(path) > 1 {
		text = strings.ReplaceAll(text, path, "/…")
	}
	return errors.New(text)
}
