package bot

import (
	"errors"
	"net/http"
	"net/url"

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
