package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/internbot/internbot"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// maxBatch bounds one group commit. Slack keeps at most a few dozen envelopes outstanding per
// connection, so a batch rarely fills; the bound keeps one transaction short under a flood.
const maxBatch = 256

// pollCache holds every poll the bot knows, so the event loop can tell a poll reaction from any other
// reaction without a database read. Polls are few; the cache is filled at start and kept current by
// the commands that create and close polls.
type pollCache struct {
	mu    sync.RWMutex
	byMsg map[pollKey]internbot.Poll
}

type pollKey struct{ channel, ts string }

func newPollCache() *pollCache { return &pollCache{byMsg: make(map[pollKey]internbot.Poll)} }

func (c *pollCache) put(p internbot.Poll) {
	c.mu.Lock()
	c.byMsg[pollKey{p.Channel, p.TS}] = p
	c.mu.Unlock()
}

func (c *pollCache) get(channel, ts string) (internbot.Poll, bool) {
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
	// A database may hold facts from before event timestamps were bounded; one from the year 2100
	// would outrank its user's real reactions for good and, as the newest stored event, seed the clock.
	// They go back to Slack's clock as read now: everything after the start wins over them. (A real
	// fact can only be ahead of the reading by the reading's own lag, a second or so.)
	if now, ok := b.slackClock.fromSlack(); ok {
		n, err := b.store.ClampFutureFacts(ctx, now)
		if err != nil {
			return fmt.Errorf("load polls: %w", err)
		}
		if n > 0 {
			b.log.Warn("moved stored reactions timed ahead of slack's clock back to it", "facts", n, "slack_now", now)
		}
	}
	newest, err := b.store.NewestEventTS(ctx)
	if err != nil {
		return err
	}
	b.slackClock.seed(newest)
	return nil
}

// maxEventTSAhead is how far ahead of Slack's clock (as SlackClock reads it) an event_ts may be. A real
// event_ts is never ahead of Slack's clock; the reading lags it by at most a second plus one Web API
// response's transit (under the client's 30 s timeout), and Slack's servers agree with one another to
// well under a second. A minute covers all of that, and bounds how long a bad timestamp that is still
// accepted can keep later events of the same person from counting.
const maxEventTSAhead = time.Minute

// aheadOfSlack reports whether ts is further ahead of Slack's clock than any real event can be. With
// no Date read yet there is nothing to measure against, and nothing is refused.
func (b *Bot) aheadOfSlack(ts string) bool {
	us, ok := tsMicros(ts)
	if !ok {
		return false
	}
	now, ok := b.slackClock.fromSlack()
	return ok && us > now.Add(maxEventTSAhead).UnixMicro()
}

// slackReaction is what the bot takes from a reaction_added or reaction_removed event, however it
// was decoded (slack-go's parse, or the fast decoder).
type slackReaction struct {
	eventID  string
	user     string
	reaction string
	itemType string
	channel  string
	ts       string
	eventTS  string
	added    bool
}

// reactionFact is a reaction event as the event loop saw it, with the request its ack needs.
type reactionFact struct {
	req      *socketmode.Request
	received time.Time
	slackReaction
}

type pendingReaction struct {
	req      *socketmode.Request
	received time.Time
	ev       internbot.ReactionEvent
}

// onReaction filters a reaction event and queues it for the next group commit; anything that is not
// an answer to an open poll is acked at once.
func (b *run) onReaction(f reactionFact) {
	ahead := b.aheadOfSlack(f.eventTS)
	if !ahead {
		b.noteEventTS(f.eventTS)
	}
	f.reaction = baseReaction(f.reaction)
	poll, ok := b.polls.get(f.channel, f.ts)
	if !ok || f.itemType != "message" || f.user == "" || f.user == b.botUserID || poll.ButtonsOnly() ||
		!poll.ClosedAt.IsZero() || !hasOption(poll, f.reaction) || !validTS(f.eventTS) {
		b.ack(f.req, nil, f.received)
		return
	}
	if ahead {
		// Stored, it would outrank every later reaction of this person. Its time cannot be trusted,
		// so neither can its place among them: the poll is read back from Slack instead.
		b.metrics.eventTSAhead()
		b.log.Warn("reaction event timed ahead of slack's clock; reading the poll back instead",
			"event_id", truncate(f.eventID, 40), "event_ts", truncate(f.eventTS, 20))
		b.ack(f.req, nil, f.received)
		b.requestReconcile()
		return
	}
	select {
	case b.reactions <- pendingReaction{req: f.req, received: f.received, ev: internbot.ReactionEvent{
		EventID: f.eventID, PollID: poll.ID, User: f.user, Reaction: f.reaction, Added: f.added, EventTS: f.eventTS,
	}}:
	default:
		// The writer is far behind (a stalled disk). Waiting here would stall every command too, so
		// the event is left unacked and the poll is read back once storage works again.
		b.metrics.handlerError("reaction_queue_full")
		if !b.storeDown.Load() {
			b.log.Warn("reaction queue full: reactions left unacked until storage catches up")
		}
		b.noteUnstored()
	}
}

// noteUnstored records that reactions were not stored, and wakes the reconciler to read them back.
func (b *run) noteUnstored() {
	b.storeDown.Store(true)
	select {
	case b.unstored <- struct{}{}:
	default: // already signalled
	}
}

// baseReaction drops a skin tone: Slack names a toned reaction "+1::skin-tone-2", and it means the
// same answer as "+1".
func baseReaction(name string) string {
	base, _, _ := strings.Cut(name, "::")
	return base
}

func hasOption(p internbot.Poll, reaction string) bool {
	return slices.ContainsFunc(p.Options, func(o internbot.PollOption) bool { return o.Reaction == reaction })
}

// validTS accepts Slack's "seconds.micros" timestamps and nothing else: the store orders facts by it.
func validTS(ts string) bool {
	_, ok := tsMicros(ts)
	return ok
}

// tsMicros reads a Slack timestamp ("1700000000.000100") as microseconds since the epoch, by the
// store's rules, so that what the bot accepts the store accepts.
func tsMicros(ts string) (int64, bool) {
	us, err := internbot.ParseSlackTS(ts)
	return us, err == nil
}

// runBatcher is the one writer of reactions. It takes whatever is queued (in Slack's order), commits it
// in one transaction, and only then acks each envelope: an acked answer is on disk.
func (b *run) runBatcher(ctx context.Context) {
	batch := make([]pendingReaction, 0, maxBatch)
	evs := make([]internbot.ReactionEvent, 0, maxBatch)
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

func (b *run) commitBatch(ctx context.Context, batch []pendingReaction, evs []internbot.ReactionEvent) {
	var results []internbot.ReactionResult
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
		// Not acked: Slack may redeliver them, but only a few times and maybe while the disk is still
		// full, so the reconciler reads the polls back once storage works again.
		b.metrics.handlerError("store_reactions")
		b.log.Error("reactions not stored and not acked; the polls will be read back once storage works", "events", len(evs), "err", err)
		b.noteUnstored()
		return
	}
	if b.storeDown.CompareAndSwap(true, false) {
		// Storage works again: the reconciler need not wait out its backoff.
		b.log.Info("storage works again")
		select {
		case b.unstored <- struct{}{}:
		default:
		}
	}
	b.metrics.batch(len(evs))
	b.ackBatch(batch)
	type answer struct {
		poll int64
		user string
	}
	var dirty []answer
	for i, p := range batch {
		if r := results[i]; !r.Duplicate && !r.Ignored {
			b.metrics.answerRecorded()
			if a := (answer{p.ev.PollID, p.ev.User}); !slices.Contains(dirty, a) {
				dirty = append(dirty, a)
			}
		}
	}
	for _, a := range dirty {
		b.updates.markAnswer(a.poll, a.user)
	}
}

// ackBatch acks a committed batch's envelopes with one lock of the socket and one write deadline.
func (b *run) ackBatch(batch []pendingReaction) {
	ids := make([]string, 0, len(batch))
	acked := make([]pendingReaction, 0, len(batch))
	for _, p := range batch {
		if p.req != nil && p.req.EnvelopeID != "" {
			ids = append(ids, p.req.EnvelopeID)
			acked = append(acked, p)
		}
	}
	n, err := b.sock.ackAll(ids)
	for _, p := range acked[:n] {
		b.metrics.acked(p.req.Type, p.received)
	}
	if err != nil {
		b.log.Warn("ack failed", "envelopes", len(ids)-n, "err", err)
	}
}

func (b *run) requestReconcile() {
	select {
	case b.reconcile <- struct{}{}:
	default: // one is already due; it will see everything.
	}
}

// runReconciler brings every open poll in line with Slack after each (re)connect: reactions added or
// removed while the bot was away produce no events, so they are read back with reactions.get. It does
// the same when reactions went unstored (storage failed, or the queue was full): their envelopes were
// not acked, but Slack redelivers only a few times, so the bot does not count on it.
//
// Each poll is reconciled on its own goroutine, so a poll whose reactions.get is waiting out a long
// Retry-After holds up neither the other polls nor a later reconnect's reconcile; a reconcile asked
// for while that poll's is still running runs once more when it ends. A reconcile that storage refuses
// is tried again with backoff, and at once when the next trigger comes (a commit that succeeds after
// failures is one): that success is what takes in every reaction the outage left out, with no
// reconnect.
func (b *run) runReconciler(ctx context.Context) {
	r := &reconciler{b: b, busy: make(map[int64]bool), again: make(map[int64]bool), wake: make(chan struct{})}
	defer r.running.Wait()
	var backoff time.Duration
	for {
		if backoff == 0 {
			select {
			case _, ok := <-b.reconcile:
				if !ok {
					return
				}
			case <-b.unstored:
			}
		} else if !b.waitReconcile(ctx, backoff) {
			return
		}
		r.wakeAll()
		polls, err := b.store.OpenPolls(ctx)
		if err != nil {
			backoff = min(max(2*backoff, time.Second), time.Minute)
			b.log.Error("reconcile: list open polls; trying again", "in", backoff, "err", err)
			continue
		}
		backoff = 0
		for _, p := range polls {
			r.start(ctx, p)
		}
	}
}

// waitReconcile waits d, or less if a reconcile is requested or storage is seen working; it returns
// false when the reconciler is to stop.
func (b *run) waitReconcile(ctx context.Context, d time.Duration) bool {
	ctx, cancel := context.WithCancel(ctx)
	slept := make(chan struct{})
	go func() {
		defer close(slept)
		_ = b.sleep(ctx, d)
	}()
	defer func() { cancel(); <-slept }()
	select {
	case <-slept:
		return ctx.Err() == nil
	case _, ok := <-b.reconcile:
		return ok
	case <-b.unstored:
		return true
	}
}

// reconciler runs at most one reconcile per poll at a time; runReconciler owns it and waits for its
// goroutines.
type reconciler struct {
	b       *run
	running sync.WaitGroup
	mu      sync.Mutex
	busy    map[int64]bool // a reconcile of the poll is running
	again   map[int64]bool // and another was asked for meanwhile
	wake    chan struct{}  // closed at each trigger: reconciles waiting after a storage failure go at once
}

func (r *reconciler) wakeAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.wake)
	r.wake = make(chan struct{})
}

func (r *reconciler) start(ctx context.Context, p internbot.Poll) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.busy[p.ID] {
		r.again[p.ID] = true
		return
	}
	r.busy[p.ID] = true
	r.running.Go(func() { r.run(ctx, p) })
}

func (r *reconciler) run(ctx context.Context, p internbot.Poll) {
	b := r.b
	var backoff time.Duration
	for {
		err := b.safely("reconcile", func() error { return b.reconcilePoll(ctx, p) })
		if err != nil {
			b.metrics.handlerError("reconcile")
			b.log.Warn("reconcile poll", "channel", p.Channel, "ts", p.TS, "err", err)
		}
		var se storeError
		if errors.As(err, &se) && !errors.Is(err, internbot.ErrPollClosed) {
			backoff = min(max(2*backoff, time.Second), time.Minute)
			b.log.Warn("reconcile: storage failed; trying again", "channel", p.Channel, "in", backoff)
			if r.wait(ctx, backoff) {
				continue
			}
		}
		r.mu.Lock()
		if !r.again[p.ID] || ctx.Err() != nil {
			delete(r.busy, p.ID)
			delete(r.again, p.ID)
			r.mu.Unlock()
			return
		}
		delete(r.again, p.ID)
		r.mu.Unlock()
		backoff = 0
	}
}

// wait waits d, or until the next trigger; it returns false when ctx ends.
func (r *reconciler) wait(ctx context.Context, d time.Duration) bool {
	r.mu.Lock()
	wake := r.wake
	r.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	slept := make(chan struct{})
	go func() {
		defer close(slept)
		_ = r.b.sleep(ctx, d)
	}()
	defer func() { cancel(); <-slept }()
	select {
	case <-slept:
	case <-wake:
	}
	return ctx.Err() == nil
}

// storeError marks a reconcile that failed in storage (not at Slack).
type storeError struct{ err error }

func (e storeError) Error() string { return "store: " + e.err.Error() }
func (e storeError) Unwrap() error { return e.err }

func (b *run) reconcilePoll(ctx context.Context, p internbot.Poll) error {
	if p.ButtonsOnly() {
		return nil // its reactions are not answers
	}
	// Taken right before the read that answers, on Slack's clock (not before a wait for a 429): a live
	// event that arrives after the snapshot is newer than it and wins in the store; one received
	// before it is older and loses.
	var asOf time.Time
	var item slack.ReactedItem
	err := b.call(ctx, "reactions.get", true, func(ctx context.Context) error {
		var err error
		asOf = b.slackClock.now(b.now())
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
		return storeError{err}
	}
	if changed > 0 {
		b.log.Info("reconciled poll with slack", "channel", p.Channel, "ts", p.TS, "answers_changed", changed)
	}
	b.updates.mark(p.ID)
	return nil
}

func (c *pollCache) byID(id int64) (internbot.Poll, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, p := range c.byMsg {
		if p.ID == id {
			return p, true
		}
	}
	return internbot.Poll{}, false
}
