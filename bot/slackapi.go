package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

const (
	maxRateLimitRetries = 5
	maxTransientRetries = 3
	defaultRetryAfter   = time.Second
	// maxRetryAfter caps one wait for a 429. Slack's rate limits are counted per minute, so a
	// Retry-After longer than a minute is not one Slack means to be waited out in one piece; waiting
	// a minute and asking again costs one request, while believing an hour would stall the caller for
	// an hour (a later reconnect's reconcile, a poll's counts). A request sent early gets another 429
	// and nothing else: a rate-limited request was not carried out.
	maxRetryAfter = time.Minute
)

// call is the one place every Web API call goes through. It waits out HTTP 429 for as long as Slack's
// Retry-After says, up to maxRetryAfter (a 429'd request was not carried out, so repeating it cannot
// post twice) and, only for calls that are safe to repeat (idempotent), retries transient network and
// 5xx errors with backoff. A call that fails for good returns an error naming the method.
func (b *Bot) call(ctx context.Context, method string, idempotent bool, fn func(context.Context) error) error {
	if ctx.Value(bulkKey{}) != nil {
		if err := b.pacer.wait(ctx, method, b.now, b.sleep); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
	}
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
		case errors.As(err, &rl) && canWaitOut(ctx, attempt, retryAfter(rl)):
			wait = retryAfter(rl)
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

// canWaitOut says whether a call rate-limited attempt times may wait retryAfter and try again. A
// caller that set a deadline (a reminder post allows itself minutes) is given every retry that fits in
// it, so a long 429 storm delays the post instead of dropping it until the next scheduled run; without
// a deadline the retries are counted, and the caller decides what a failure means.
func canWaitOut(ctx context.Context, attempt int, retryAfter time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok {
		return time.Until(deadline) > max(retryAfter, defaultRetryAfter)
	}
	return attempt <= maxRateLimitRetries
}

// retryAfter is how long to wait before repeating a rate-limited call: Slack's Retry-After, capped.
func retryAfter(rl *slack.RateLimitedError) time.Duration {
	if rl.RetryAfter <= 0 {
		return defaultRetryAfter
	}
	return min(rl.RetryAfter, maxRetryAfter)
}

// retryLater says whether a call that failed for good may succeed if made again later.
func retryLater(err error) bool {
	var rl *slack.RateLimitedError
	return errors.As(err, &rl) || transient(err)
}

// transient says whether err is a failure that may pass: Slack answering 5xx, or the network (a
// refused or reset connection, DNS, a timeout, a connection cut short). Every error of Go's HTTP
// client is a net.Error, so the error inside it decides: a TLS certificate Slack does not have, or a
// URL whose scheme the server does not speak, fails the same way however often it is tried.
func transient(err error) bool {
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		return sc.Code >= 500
	}
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err
	}
	var op *net.OpError
	var dns *net.DNSError
	var ne net.Error
	return errors.As(err, &op) || errors.As(err, &dns) || (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// slackErrorCode returns Slack's error code ("not_in_channel") from a Web API error, or "".
func slackErrorCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// undeliverable says whether a conversations.open or chat.postMessage error for a reminder DM means
// that DM can never be delivered, however often it is tried: the person is deactivated, unknown or
// hidden from the bot, is a bot, or the conversation cannot take the bot's messages. The codes are
// from Slack's documentation of the two methods. Errors about the bot itself (its token, its scopes,
// its message) are not here: they fail every DM alike and are for an operator to fix.
func undeliverable(err error) bool {
	switch slackErrorCode(err) {
	case "user_disabled", "user_not_found", "user_not_visible", "cannot_dm_bot", "invalid_user_combination",
		"channel_not_found", "is_archived", "not_in_channel", "messages_tab_disabled",
		"restricted_action", "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
		"restricted_action_non_threadable_channel":
		return true
	}
	return false
}

// slackReason is Slack's error code in err, or err's text when it has none.
func slackReason(err error) string {
	if code := slackErrorCode(err); code != "" {
		return code
	}
	return err.Error()
}

// paceOf is the least time between two calls of the methods the bot makes in bulk (reminder DMs,
// nudges), from Slack's rate-limit tiers: Tier 2 about 20 calls a minute, Tier 3 about 50, Tier 4
// about 100. Spacing them keeps a fan-out under the limit instead of meeting 429s; chat.postMessage
// is limited per channel, and each DM is its own channel, so it is not spaced.
var paceOf = map[string]time.Duration{
	"users.list":            3 * time.Second,
	"conversations.open":    1200 * time.Millisecond,
	"users.info":            600 * time.Millisecond,
	"conversations.members": 600 * time.Millisecond,
}

type bulkKey struct{}

// bulk marks ctx as a fan-out's (reminder DMs, nudges): its calls are spaced by paceOf. A person's
// slash command is not, since spacing would eat its 3 s; it meets a 429 rarely and waits it out.
func bulk(ctx context.Context) context.Context { return context.WithValue(ctx, bulkKey{}, true) }

// pacer spaces calls per method (see paceOf).
type pacer struct {
	mu   sync.Mutex
	next map[string]time.Time
}

// wait waits until method may be called again, and books the next slot.
func (p *pacer) wait(ctx context.Context, method string, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	gap, ok := paceOf[method]
	if !ok {
		return nil
	}
	p.mu.Lock()
	if p.next == nil {
		p.next = map[string]time.Time{}
	}
	t := now()
	at := p.next[method]
	if at.Before(t) {
		at = t
	}
	p.next[method] = at.Add(gap)
	p.mu.Unlock()
	if d := at.Sub(t); d > 0 {
		return sleep(ctx, d)
	}
	return nil
}
