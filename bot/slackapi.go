package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/slack-go/slack"
)

const (
	maxRateLimitRetries = 5
	maxTransientRetries = 3
	defaultRetryAfter   = time.Second
)

// call is the one place every Web API call goes through. It waits out HTTP 429 for as long as Slack's
// Retry-After says (a 429'd request was not carried out, so repeating it cannot post twice) and, only
// for calls that are safe to repeat (idempotent), retries transient network and 5xx errors with
// backoff. A call that fails for good returns an error naming the method.
func (b *Bot) call(ctx context.Context, method string, idempotent bool, fn func(context.Context) error) error {
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		b.metrics.apiCall(method, err)
		if err == nil {
			return nil
		}
		var wait time.Duration
		var rl *slack.RateLimitedError
		switch {
		case errors.As(err, &rl) && attempt <= maxRateLimitRetries:
			wait = rl.RetryAfter
			if wait <= 0 {
				wait = defaultRetryAfter
			}
		case idempotent && transient(err) && attempt <= maxTransientRetries:
			wait = backoff
			backoff *= 2
		default:
			return fmt.Errorf("%s: %w", method, err)
		}
		b.log.Warn("slack web api call will be retried", "method", method, "attempt", attempt, "wait", wait, "err", err)
		if err := b.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
	}
}

func transient(err error) bool {
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return sc.Code >= 500
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// slackErrorCode returns Slack's error code ("not_in_channel") from a Web API error, or "".
func slackErrorCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}
