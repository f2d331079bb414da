package bot

import (
	"net/http"
	"sync"
	"time"
)

// SlackClock estimates what time it is on Slack's clock. Reconciliation stamps what it reads back
// with it, so that neither a host clock running fast (reconciled facts would outrank later live
// events) nor one running slow (they would lose to older ones) can misorder answers.
//
// Its source is the Date header of Slack's Web API responses: build the Web API client's HTTP client
// with HTTPClient and pass the same SlackClock in Options. A Date has one-second resolution and is
// written before the response travels back, so a reading (Date, plus the time elapsed here since the
// response arrived) is never later than Slack's clock, and at most about a second plus one response's
// transit earlier. Erring early is the safe side: a live event that happened after a snapshot always
// has a later event_ts than the snapshot's stamp and wins over it, and an event from the second
// before the snapshot that is stamped later than it agrees with the snapshot anyway. The estimate is
// the latest of these lower bounds.
//
// Without a Date (a client not built with HTTPClient), the clock falls back to the newest event_ts
// received, and before any event to the host clock, never earlier than the newest stored event.
type SlackClock struct {
	mu    sync.Mutex
	us    int64     // a reading of Slack's clock, µs
	at    time.Time // when it was true here (monotonic); zero if there is none
	dated bool      // the reading came from a Date header
	seen  int64     // newest event_ts stored before this process started, µs
}

// NewSlackClock returns a clock with no reading yet.
func NewSlackClock() *SlackClock { return &SlackClock{} }

// HTTPClient returns a copy of base (nil: a default client) whose transport reads the Date header of
// every response into c.
func (c *SlackClock) HTTPClient(base *http.Client) *http.Client {
	var hc http.Client
	if base != nil {
		hc = *base
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = dateTransport{next: next, clock: c}
	return &hc
}

type dateTransport struct {
	next  http.RoundTripper
	clock *SlackClock
}

func (t dateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	// Slack answers 2xx, and 4xx (429 included) for what it refuses; a 5xx or a 407 may be a proxy's
	// or a load balancer's page, whose Date is not Slack's clock.
	if err == nil && resp.StatusCode < 500 && resp.StatusCode != http.StatusProxyAuthRequired {
		if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			t.clock.observe(d.UnixMicro(), time.Now(), true)
		}
	}
	return resp, err
}

// seed records the newest event_ts already stored, the floor of the host-clock fallback.
func (c *SlackClock) seed(newest time.Time) {
	if newest.IsZero() {
		return
	}
	c.mu.Lock()
	c.seen = newest.UnixMicro()
	c.mu.Unlock()
}

// observe takes a reading: Slack's clock was at least us when at (monotonic) happened here. Event
// timestamps count only while no Date has been read: a Date is Slack's own clock, an event_ts is
// data in an event.
func (c *SlackClock) observe(us int64, at time.Time, fromDate bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dated && !fromDate {
		return
	}
	if fromDate && !c.dated {
		c.us, c.at, c.dated = us, at, true
		return
	}
	if c.at.IsZero() || us > c.us+at.Sub(c.at).Microseconds() {
		c.us, c.at = us, at
	}
}

// now is the estimate: the reading plus the time elapsed since; with no reading, the host clock, but
// never earlier than what is stored.
func (c *SlackClock) now(host time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() {
		return time.UnixMicro(c.us).Add(time.Since(c.at))
	}
	if floor := time.UnixMicro(c.seen + 1); c.seen > 0 && floor.After(host) {
		return floor
	}
	return host
}

// fromSlack is the estimate when it rests on a Date header; ok is false otherwise.
func (c *SlackClock) fromSlack() (t time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dated {
		return time.Time{}, false
	}
	return time.UnixMicro(c.us).Add(time.Since(c.at)), true
}

// noteEventTS feeds an event's timestamp (Slack's clock, not ours) to the estimate of Slack's clock.
func (b *Bot) noteEventTS(ts string) {
	if us, ok := tsMicros(ts); ok {
		b.slackClock.observe(us, time.Now(), false)
	}
}
