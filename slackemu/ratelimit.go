package slackemu

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// tier is one Web API method's rate limit: at most n calls per window, per key (the workspace, or
// the channel for chat.postMessage).
type tier struct {
	n          int
	window     time.Duration
	perChannel bool
}

// tiers are Slack's published limits for the methods the bot calls in bulk: Tier 2 about 20 a
// minute, Tier 3 about 50, Tier 4 about 100, and chat.postMessage about one message a second per
// channel.
var tiers = map[string]tier{
	"users.list":            {n: 20, window: time.Minute},
	"conversations.open":    {n: 50, window: time.Minute},
	"users.info":            {n: 100, window: time.Minute},
	"conversations.members": {n: 100, window: time.Minute},
	"chat.postMessage":      {n: 1, window: time.Second, perChannel: true},
}

// EnforceRateLimits turns Slack's rate-limit tiers on or off (off by default): a call over its
// method's limit is answered 429 with a Retry-After computed from the emulator's clock, and is not
// carried out.
func (s *Server) EnforceRateLimits(on bool) {
	s.mu.Lock()
	s.rateLimited = on
	s.recent = map[string][]time.Time{}
	s.mu.Unlock()
}

// RateLimited is how many calls EnforceRateLimits has answered 429.
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// overLimit counts the call against its tier and, when it is over, answers 429. It reports whether
// it answered.
func (s *Server) overLimit(w http.ResponseWriter, method, channel string) bool {
	now := s.Now()
	s.mu.Lock()
	t, ok := tiers[method]
	if !s.rateLimited || !ok {
		s.mu.Unlock()
		return false
	}
	key := method
	if t.perChannel {
		key += "/" + channel
	}
	recent := s.recent[key]
	i := 0
	for i < len(recent) && !recent[i].After(now.Add(-t.window)) {
		i++
	}
	recent = recent[i:]
	if len(recent) >= t.n {
		wait := recent[0].Add(t.window).Sub(now)
		s.recent[key] = recent
		s.limited++
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		writeJSON(w, http.StatusTooManyRequests, slackErr("ratelimited"))
		return true
	}
	s.recent[key] = append(recent, now)
	s.mu.Unlock()
	return false
}
