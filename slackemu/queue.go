package slackemu

import (
	"context"
	"sync"
)

// subscriber is one Subscribe call: an unbounded queue drained into out.
type subscriber struct {
	mu   sync.Mutex
	q    []Message
	out  chan Message
	wake chan struct{}
	stop chan struct{}
	once sync.Once
}

func (sub *subscriber) push(m Message) {
	sub.mu.Lock()
	sub.q = append(sub.q, m)
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (sub *subscriber) run(done <-chan struct{}) {
	defer close(sub.out)
	for {
		sub.mu.Lock()
		batch := sub.q
		sub.q = nil
		sub.mu.Unlock()
		for _, m := range batch {
			select {
			case sub.out <- m:
			case <-sub.stop:
				return
			case <-done:
				return
			}
		}
		select {
		case <-sub.wake:
		case <-sub.stop:
			return
		case <-done:
			return
		}
	}
}

// outbox delivers events the emulator itself originates (for example the
// reaction_added Slack sends when the bot calls reactions.add), in order,
// without making the Web API handler wait on the socket.
type outbox struct {
	mu   sync.Mutex
	q    []Envelope
	wake chan struct{}
}

func (o *outbox) init() { o.wake = make(chan struct{}, 1) }

func (o *outbox) push(e Envelope) {
	o.mu.Lock()
	o.q = append(o.q, e)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (s *Server) runOutbox() {
	for {
		s.out.mu.Lock()
		batch := s.out.q
		s.out.q = nil
		s.out.mu.Unlock()
		for _, e := range batch {
			// Slack retries undelivered events later; the emulator drops
			// them when no socket is open (documented in doc.go).
			// Send fails fast with ErrClosed once the server closes.
			if _, err := s.Send(context.Background(), e); err != nil {
				s.log.Debug("event not delivered", "type", e.Type, "err", err)
			}
		}
		select {
		case <-s.out.wake:
		case <-s.done:
			return
		}
	}
}
