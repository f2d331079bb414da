package bot

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// updater keeps each poll message's counts current with chat.update, at most one call per poll per
// interval (Slack rate-limits chat.update per channel). A poll marked during a call or inside its
// interval is updated once more when the interval ends, so the message always ends on the true counts.
type updater struct {
	b *run

	mu      sync.Mutex
	dirty   map[int64]bool
	shown   map[int64]string // what each poll's message says now (text and blocks), to skip updates that change nothing
	wake    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func newUpdater(b *run) *updater {
	return &updater{b: b, dirty: make(map[int64]bool), shown: make(map[int64]string), wake: make(chan struct{}, 1), stopped: make(chan struct{})}
}

// mark asks for poll id's message to be refreshed after a change to the poll itself (opened,
// closed, reopened, read back): every Home is rendered again. It never blocks.
func (u *updater) mark(id int64) {
	u.markMessage(id)
	u.b.homes.changed() // the poll's state shows on every Home that shows the poll
}

// markAnswer asks for poll id's message to be refreshed after user's answer changed: only user's
// Home and the Homes of admins who see the poll's counts are rendered again. It never blocks.
func (u *updater) markAnswer(id int64, user string) {
	u.markMessage(id)
	u.b.homes.answered(id, user)
}

func (u *updater) markMessage(id int64) {
	u.mu.Lock()
	u.dirty[id] = true
	u.mu.Unlock()
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// showing records what poll id's message says now; it reports whether that is news.
func (u *updater) showing(id int64, content string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if old, ok := u.shown[id]; ok && old == content {
		return false
	}
	u.shown[id] = content
	return true
}

// forget drops what is recorded for poll id, so its next refresh is sent whatever it says.
func (u *updater) forget(id int64) {
	u.mu.Lock()
	delete(u.shown, id)
	u.mu.Unlock()
}

// stop makes run flush what is marked and return.
func (u *updater) stop() { u.once.Do(func() { close(u.stopped) }) }

func (u *updater) take() []int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	ids := make([]int64, 0, len(u.dirty))
	for id := range u.dirty {
		ids = append(ids, id)
	}
	clear(u.dirty)
	return ids
}

// run refreshes the marked polls until stop, then refreshes what is still marked once more and
// returns. Each poll's refresh runs on its own goroutine, at most one per poll at a time, so a poll
// whose chat.update is slow or waiting out a Retry-After holds up no other poll.
func (u *updater) run(ctx context.Context) {
	type refreshed struct {
		id  int64
		err error
		at  time.Time
	}
	last := make(map[int64]time.Time)   // when each poll was last updated
	waiting := make(map[int64]struct{}) // marked, but inside their interval or still being refreshed
	busy := make(map[int64]bool)        // a refresh is running
	done := make(chan refreshed)
	var refreshes sync.WaitGroup
	defer refreshes.Wait()
	stopped, stopping := u.stopped, false
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-u.wake:
		case <-timer.C:
		case r := <-done:
			delete(busy, r.id)
			last[r.id] = r.at
			if r.err != nil && retryLater(r.err) && ctx.Err() == nil && !stopping {
				// Still rate-limited after call's retries: try again an interval from now, or the
				// message would show stale counts until the next reaction.
				waiting[r.id] = struct{}{}
			}
		case <-stopped:
			stopped, stopping = nil, true
		}
		for _, id := range u.take() {
			waiting[id] = struct{}{}
		}
		now := time.Now()
		var next time.Time
		for id := range waiting {
			if busy[id] {
				continue // marked again during its refresh: looked at again when that ends
			}
			due := last[id].Add(u.b.updateInterval)
			if stopping || !now.Before(due) {
				delete(waiting, id)
				busy[id] = true
				refreshes.Go(func() {
					err := u.b.safely("chat_update", func() error { return u.b.refreshPoll(ctx, id) })
					done <- refreshed{id: id, err: err, at: time.Now()}
				})
				continue
			}
			if next.IsZero() || due.Before(next) {
				next = due
			}
		}
		if stopping && len(busy) == 0 && len(waiting) == 0 {
			return
		}
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
	}
}

// refreshPoll rewrites a poll message with its current counts.
func (b *run) refreshPoll(ctx context.Context, id int64) error {
	p, ok := b.polls.byID(id)
	if !ok {
		return nil
	}
	counts, err := b.store.Counts(ctx, id)
	if err != nil {
		b.log.Warn("poll counts", "poll", id, "err", err)
		return err
	}
	text, blocks := renderPoll(p, counts)
	content := pollContent(text, blocks)
	if !b.updates.showing(id, content) {
		return nil // the message already says this (a new poll read back, a reaction that changed no answer)
	}
	err = b.call(ctx, "chat.update", true, func(ctx context.Context) error {
		_, _, _, err := b.client.UpdateMessageContext(ctx, p.Channel, p.TS, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
	if err != nil {
		b.updates.forget(id) // what the message says is unknown now
		b.metrics.handlerError("chat_update")
		b.log.Warn("update poll message", "channel", p.Channel, "ts", p.TS, "err", err)
	}
	return err
}

// pollContent is what a poll message says, for comparing two renderings.
func pollContent(text string, blocks []slack.Block) string {
	js, err := json.Marshal(blocks)
	if err != nil {
		return "" // never equal to a recorded rendering: the update is sent
	}
	return text + "\x00" + string(js)
}
