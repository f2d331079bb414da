package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/internbot/internbot/storage"
)

// maxBatch bounds one group commit. Slack keeps at most a few dozen envelopes outstanding per
// connection, so a batch rarely fills; the bound keeps one transaction short under a flood.
const maxBatch = 256

// pollCache holds every poll the bot knows, so the event loop can tell a poll reaction from any other
// reaction without a database read. Polls are few; the cache is filled at start and kept current by
// the commands that create and close polls.
type pollCache struct {
	mu    sync.RWMutex
	byMsg map[pollKey]storage.Poll
}

type pollKey struct{ channel, ts string }

func newPollCache() *pollCache { return &pollCache{byMsg: make(map[pollKey]storage.Poll)} }

func (c *pollCache) put(p storage.Poll) {
	c.mu.Lock()
	c.byMsg[pollKey{p.Channel, p.TS}] = p
	c.mu.Unlock()
}

func (c *pollCache) get(channel, ts string) (storage.Poll, bool) {
	c.mu.RLock()
	p, ok := c.byMsg[pollKey{channel, ts}]
	c.mu.RUnlock()
	return p, ok
}

func (b *Bot) loadPolls(ctx context.Context) error {
	polls, err := b.store.Polls(ctx)
	if err != nil {
		return fmt.Errorf("load polls: %w", err)
	}
	for _, p := range polls {
		b.polls.put(p)
	}
	newest, err := b.store.NewestEventTS(ctx)
	if err != nil {
		return err
	}
	b.slackClock.seed(newest)
	return nil
}

// reactionFact is a reaction_added or reaction_removed event as the event loop saw it.
type reactionFact struct {
	req      *socketmode.Request
	received time.Time
	eventID  string
	user     string
	reaction string
	itemType string
	channel  string
	ts       string
	eventTS  string
	added    bool
}

type pendingReaction struct {
	req      *socketmode.Request
	received time.Time
	ev       storage.ReactionEvent
}

// onReaction filters a reaction event and queues it for the next group commit; anything that is not
// an answer to an open poll is acked at once.
func (b *Bot) onReaction(f reactionFact) {
	b.noteEventTS(f.eventTS)
	f.reaction = baseReaction(f.reaction)
	poll, ok := b.polls.get(f.channel, f.ts)
	if !ok || f.itemType != "message" || f.user == "" || f.user == b.botUserID ||
		!poll.ClosedAt.IsZero() || !hasOption(poll, f.reaction) || !validTS(f.eventTS) {
		b.ack(f.req, nil, f.received)
		return
	}
	b.reactions <- pendingReaction{req: f.req, received: f.received, ev: storage.ReactionEvent{
		EventID: f.eventID, PollID: poll.ID, User: f.user, Reaction: f.reaction, Added: f.added, EventTS: f.eventTS,
	}}
}

// baseReaction drops a skin tone: Slack names a toned reaction "+1::skin-tone-2", and it means the
// same answer as "+1".
func baseReaction(name string) string {
	base, _, _ := strings.Cut(name, "::")
	return base
}

func hasOption(p storage.Poll, reaction string) bool {
	return slices.ContainsFunc(p.Options, func(o storage.PollOption) bool { return o.Reaction == reaction })
}

// validTS accepts Slack's "seconds.micros" timestamps and nothing else: the store orders facts by it.
func validTS(ts string) bool {
	_, ok := tsMicros(ts)
	return ok
}

// tsMicros reads a Slack timestamp ("1700000000.000100") as microseconds since the epoch, by the
// store's rules, so that what the bot accepts the store accepts.
func tsMicros(ts string) (int64, bool) {
	us, err := storage.ParseSlackTS(ts)
	return us, err == nil
}

// noteEventTS feeds an event's timestamp (Slack's clock, not ours) to the estimate of Slack's clock.
func (b *Bot) noteEventTS(ts string) {
	if us, ok := tsMicros(ts); ok {
		b.slackClock.observe(us, time.Now())
	}
}

// slackClock estimates what time it is on Slack's clock: the newest event_ts received plus the time
// elapsed here since it arrived. Reconciliation stamps what it finds with it, so that neither a host
// clock running fast (reconciled facts would outrank later live events) nor one running slow (they
// would lose to older ones) can misorder answers.
type slackClock struct {
	mu   sync.Mutex
	us   int64     // newest event_ts seen, µs
	at   time.Time // when it arrived here (monotonic); zero if only seeded from the store
	seen int64     // newest event_ts stored before this process started
}

func (c *slackClock) seed(newest time.Time) {
	if newest.IsZero() {
		return
	}
	c.mu.Lock()
	c.seen = newest.UnixMicro()
	c.mu.Unlock()
}

func (c *slackClock) observe(us int64, at time.Time) {
	c.mu.Lock()
	if us > c.us {
		c.us, c.at = us, at
	}
	c.mu.Unlock()
}

// now is the estimate; before any live event, the host clock, but never earlier than what is stored.
func (c *slackClock) now(host time.Time) time.Time {
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

// runBatcher is the one writer of reactions. It takes whatever is queued (in Slack's order), commits it
// in one transaction, and only then acks each envelope: an acked answer is on disk.
func (b *Bot) runBatcher(ctx context.Context) {
	batch := make([]pendingReaction, 0, maxBatch)
	evs := make([]storage.ReactionEvent, 0, maxBatch)
	for first := range b.reactions {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case p, ok := <-b.reactions:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
		evs = evs[:0]
		for _, p := range batch {
			evs = append(evs, p.ev)
		}
		// A panic leaves the batch unacked: Slack sends it again.
		_ = b.safely("store_reactions", func() error { b.commitBatch(ctx, batch, evs); return nil })
	}
}

func (b *Bot) commitBatch(ctx context.Context, batch []pendingReaction, evs []storage.ReactionEvent) {
	var results []storage.ReactionResult
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		results, err = b.store.ApplyReactions(ctx, evs)
		if err == nil {
			break
		}
		b.log.Warn("could not store reactions; retrying", "events", len(evs), "attempt", attempt, "err", err)
		_ = sleepCtx(ctx, time.Duration(attempt)*50*time.Millisecond)
	}
	if err != nil {
		// Not acked: Slack redelivers them, and by then the disk may have room again.
		b.metrics.handlerError("store_reactions")
		b.log.Error("reactions not stored and not acked; slack will redeliver them", "events", len(evs), "err", err)
		return
	}
	b.metrics.batch(len(evs))
	var dirty []int64
	for i, p := range batch {
		b.ack(p.req, nil, p.received)
		if r := results[i]; !r.Duplicate && !r.Ignored {
			b.metrics.answerRecorded()
			if !slices.Contains(dirty, p.ev.PollID) {
				dirty = append(dirty, p.ev.PollID)
			}
		}
	}
	for _, id := range dirty {
		b.updates.mark(id)
	}
}

func (b *Bot) requestReconcile() {
	select {
	case b.reconcile <- struct{}{}:
	default: // one is already due; it will see everything.
	}
}

// runReconciler brings every open poll in line with Slack after each (re)connect: reactions added or
// removed while the bot was away produce no events, so they are read back with reactions.get. Each
// poll is reconciled on its own goroutine, so a poll whose reactions.get is waiting out a long
// Retry-After holds up neither the other polls nor a later reconnect's reconcile; a reconcile asked
// for while that poll's is still running runs once more when it ends.
func (b *Bot) runReconciler(ctx context.Context) {
	var (
		running sync.WaitGroup
		mu      sync.Mutex
		busy    = make(map[int64]bool) // a reconcile of the poll is running
		again   = make(map[int64]bool) // and another was asked for meanwhile
	)
	defer running.Wait()
	for range b.reconcile {
		polls, err := b.store.OpenPolls(ctx)
		if err != nil {
			b.log.Error("reconcile: list open polls", "err", err)
			continue
		}
		for _, p := range polls {
			mu.Lock()
			if busy[p.ID] {
				again[p.ID] = true
				mu.Unlock()
				continue
			}
			busy[p.ID] = true
			mu.Unlock()
			running.Go(func() {
				for {
					if err := b.safely("reconcile", func() error { return b.reconcilePoll(ctx, p) }); err != nil {
						b.metrics.handlerError("reconcile")
						b.log.Warn("reconcile poll", "channel", p.Channel, "ts", p.TS, "err", err)
					}
					mu.Lock()
					if !again[p.ID] || ctx.Err() != nil {
						delete(busy, p.ID)
						delete(again, p.ID)
						mu.Unlock()
						return
					}
					delete(again, p.ID)
					mu.Unlock()
				}
			})
		}
	}
}

func (b *Bot) reconcilePoll(ctx context.Context, p storage.Poll) error {
	// Taken before the read, on Slack's clock: a live event that arrives after the snapshot is newer
	// than it and wins in the store; one received before it is older and loses.
	asOf := b.slackClock.now(b.now())
	var item slack.ReactedItem
	err := b.call(ctx, "reactions.get", true, func(ctx context.Context) error {
		var err error
		item, err = b.client.GetReactionsContext(ctx, slack.NewRefToMessage(p.Channel, p.TS), slack.GetReactionsParameters{Full: true})
		return err
	})
	if err != nil {
		return err
	}
	present := make(map[string][]string)
	for _, r := range item.Reactions {
		name := baseReaction(r.Name)
		if !hasOption(p, name) {
			continue
		}
		for _, u := range r.Users {
			if u != b.botUserID && !slices.Contains(present[name], u) {
				present[name] = append(present[name], u)
			}
		}
	}
	changed, err := b.store.ReconcilePoll(ctx, p.ID, present, asOf)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if changed > 0 {
		b.log.Info("reconciled poll with slack", "channel", p.Channel, "ts", p.TS, "answers_changed", changed)
	}
	b.updates.mark(p.ID)
	return nil
}

func (c *pollCache) byID(id int64) (storage.Poll, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, p := range c.byMsg {
		if p.ID == id {
			return p, true
		}
	}
	return storage.Poll{}, false
}
