package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/internbot/internbot/config"
	"github.com/internbot/internbot/remind"
)

// ErrInvalidAuth means Slack refused the bot's tokens: retrying cannot help, so Run returns it.
var ErrInvalidAuth = errors.New("slack refused the tokens (invalid_auth, token_revoked or account_inactive)")

// ErrRunning means Run was called while an earlier Run of the same Bot had not returned.
var ErrRunning = errors.New("bot: Run called while the bot is running")

// ErrSocketRefused means apps.connections.open failed in a way retrying cannot fix (the app-level
// token lacks connections:write, is not an app-level token, …), so Run returns it.
var ErrSocketRefused = errors.New("slack refused to open a socket mode connection")

// Options configures a Bot. Config, Store and Client are required.
type Options struct {
	Config *config.Config
	Store  Store
	// Client is the Web API client; it must carry the app-level token (slack.OptionAppLevelToken)
	// because Socket Mode opens its connection with it.
	Client *slack.Client
	Logger *slog.Logger
	// Now is the clock for everything the bot decides by date; tests inject one.
	Now func() time.Time
	// Sleep waits between Web API retries (Retry-After, backoff); tests may shorten it.
	Sleep func(ctx context.Context, d time.Duration) error
	// UpdateInterval is the least time between two chat.update calls for one poll (default 3s):
	// Slack's chat.update is rate-limited per channel, so a burst of reactions is coalesced.
	UpdateInterval time.Duration
	// CommandTimeout is how long a slash command may take before the bot acks it and sends the
	// answer to its response_url instead (default 2s, inside Slack's 3s).
	CommandTimeout time.Duration
	// PingInterval is how long Socket Mode waits for a ping from Slack before it reconnects
	// (default: slack-go's 30s).
	PingInterval time.Duration
	// ShutdownGrace is how long Run waits, once the work in flight is done, for the last acks to be
	// written before it closes the socket (default 200ms).
	ShutdownGrace time.Duration
	// DMInterval spaces reminder DMs (see remind.Options).
	DMInterval time.Duration
	// Metrics receives counters; nil means none are kept.
	Metrics *Metrics
	// SlackClock reads Slack's clock from the Client's responses (see SlackClock.HTTPClient); nil
	// means a clock with no Date to go by.
	SlackClock *SlackClock
}

// Bot is internbot: its configuration and the caches that outlive a connection. Create it with New
// and start it with Run; what one Run sets up and tears down is a run.
type Bot struct {
	cfg     *config.Config
	store   Store
	client  *slack.Client
	log     *slog.Logger
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	metrics *Metrics

	updateInterval time.Duration
	commandTimeout time.Duration
	pingInterval   time.Duration
	shutdownGrace  time.Duration

	polls    *pollCache
	admins   *adminCache
	members  *memberCache
	pacer    pacer
	commands []command
	replies  replyCache
	// interactions is the interaction table (see interactive.go).
	interactions []interactionHandler

	// slackClock estimates Slack's clock; see reconcilePoll.
	slackClock *SlackClock

	// running is set while Run runs; last is the newest run, for Connected and Healthy.
	running atomic.Bool
	last    atomic.Pointer[run]
	// reminders is the reminder engine, run on its schedule while Run serves.
	reminders *remind.Engine
}

// New checks the options and builds a Bot; it does not touch the network.
func New(opts Options) (*Bot, error) {
	switch {
	case opts.Config == nil:
		return nil, errors.New("bot: Config is required")
	case opts.Store == nil:
		return nil, errors.New("bot: Store is required")
	case opts.Client == nil:
		return nil, errors.New("bot: Client is required")
	}
	b := &Bot{
		cfg:            opts.Config,
		store:          opts.Store,
		client:         opts.Client,
		log:            opts.Logger,
		now:            opts.Now,
		sleep:          opts.Sleep,
		metrics:        opts.Metrics,
		slackClock:     opts.SlackClock,
		updateInterval: opts.UpdateInterval,
		commandTimeout: opts.CommandTimeout,
		pingInterval:   opts.PingInterval,
		shutdownGrace:  opts.ShutdownGrace,
		polls:          newPollCache(),
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b.log = b.log.With("component", "bot")
	if b.now == nil {
		b.now = time.Now
	}
	if b.sleep == nil {
		b.sleep = sleepCtx
	}
	if b.updateInterval <= 0 {
		b.updateInterval = 3 * time.Second
	}
	if b.commandTimeout <= 0 {
		b.commandTimeout = 2 * time.Second
	}
	if b.shutdownGrace <= 0 {
		b.shutdownGrace = 200 * time.Millisecond
	}
	if b.metrics == nil {
		b.metrics = NewMetrics(nil)
	}
	if b.slackClock == nil {
		b.slackClock = NewSlackClock()
	}
	b.admins = newAdminCache(b.now)
	b.members = newMemberCache(b.now)
	b.commands = commandTable()
	b.interactions = interactionTable()
	var err error
	b.reminders, err = remind.New(remind.Options{Config: b.cfg, Store: b.store, Slack: reminderSlack{b}, Logger: opts.Logger,
		Now: b.now, Sleep: b.sleep, DMInterval: opts.DMInterval, Metrics: reminderMetrics{b.metrics}})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// run is one call of Run: the socket and what Slack said about the bot when it connected, the queues
// between the event loop and its workers, and how the connection is doing. Its methods are the ones
// that need any of that; they keep the receiver name b, as the Bot's fields and methods are the run's
// too.
type run struct {
	*Bot

	botUserID string
	botName   string

	sock      *socket
	connected atomic.Bool
	// loopMu is held while a frame is handled; once draining is set under it, no frame is handled
	// any more (dropped counts the envelopes left for Slack to send again).
	loopMu   sync.Mutex
	draining bool
	dropped  int
	// work tracks goroutines that finish in-flight work (commands) before Run returns.
	work sync.WaitGroup

	reactions chan pendingReaction
	updates   *updater
	homes     *homes
	reconcile chan struct{}
	// unstored tells the reconciler that reactions went unstored (storage failed, or the batcher's
	// queue was full); storeDown is set from then until a commit succeeds. See runReconciler.
	unstored  chan struct{}
	storeDown atomic.Bool
	// fatal carries an error retrying cannot fix, found while connecting, to Run; unhealthy keeps it
	// for Healthy.
	fatal     chan error
	unhealthy atomic.Pointer[error]
}

func newRun(b *Bot) *run {
	r := &run{
		Bot:       b,
		reactions: make(chan pendingReaction, 4*maxBatch),
		reconcile: make(chan struct{}, 1),
		unstored:  make(chan struct{}, 1),
		fatal:     make(chan error, 1),
	}
	r.updates = newUpdater(r)
	r.homes = newHomes(r)
	return r
}

// Connected reports whether a Socket Mode connection is up (for /readyz).
func (b *Bot) Connected() bool {
	r := b.last.Load()
	return r != nil && r.connected.Load()
}

// Healthy is nil unless the bot has met an error retrying cannot fix and is on its way out (for
// /healthz: a process that will never connect is not healthy, even while it drains). It speaks for
// the newest Run, also once that has returned.
func (b *Bot) Healthy() error {
	if r := b.last.Load(); r != nil {
		if err := r.unhealthy.Load(); err != nil {
			return *err
		}
	}
	return nil
}

// failed records an error retrying cannot fix and asks Run to stop with it.
func (b *run) failed(err error) {
	b.unhealthy.CompareAndSwap(nil, &err)
	select {
	case b.fatal <- err:
	default: // Run has one already
	}
}

// Run connects to Slack and serves until ctx is cancelled, then stops reading new envelopes, finishes
// and acks what is in flight, and returns nil. It returns an error wrapping ErrInvalidAuth when Slack
// refuses the tokens, and other errors when it cannot start. Once it has returned the Bot may Run
// again; while it runs, another Run returns ErrRunning at once.
func (b *Bot) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer b.running.Store(false)
	r := newRun(b)
	b.last.Store(r)
	return r.serve(ctx)
}

// serve is Run's work.
func (b *run) serve(ctx context.Context) error {
	auth, err := b.authTest(ctx)
	if err != nil {
		if ctx.Err() != nil {
			b.log.Info("stopped before reaching slack")
			return nil
		}
		return err
	}
	b.botUserID, b.botName = auth.UserID, auth.User
	b.log.Info("authenticated", "team", auth.TeamID, "bot_user", auth.UserID)

	if err := b.loadPolls(ctx); err != nil {
		return err
	}

	// The socket outlives ctx: after ctx ends the bot still has to write the acks of work in flight.
	sockCtx, stopSocket := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSocket()
	// Work in flight when the loop below ends gets drainTimeout to finish, then its context ends too.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	stopScheduler, err := b.reminders.Start(workCtx)
	if err != nil {
		return err
	}
	sockLog := b.log.With("component", "socketmode")
	b.sock = &socket{client: b.client, readLimit: maxEnvelopeBytes, pingInterval: b.pingInterval,
		onFrame: func(frame []byte, received time.Time) bool { return b.onFrame(workCtx, frame, received) },
		onEvent: func(evt socketmode.Event) { b.onSocketEvent(workCtx, evt) },
		debug:   sockLog.Debug}

	// The socket's goroutine is the event loop: it reads each frame and handles it.
	sockDone := make(chan error, 1)
	go func() { sockDone <- b.sock.run(sockCtx) }()

	// writers mark polls for the updater, so they stop first, then the updater flushes.
	var writers, updater sync.WaitGroup
	writers.Go(func() { b.runBatcher(workCtx) })
	writers.Go(func() { b.runReconciler(workCtx) })
	updater.Go(func() { b.updates.run(workCtx) })
	homesCtx, stopHomes := context.WithCancel(workCtx)
	defer stopHomes()
	var homesDone sync.WaitGroup
	homesDone.Go(func() { b.homes.run(homesCtx) })

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			b.log.Info("shutting down: no new envelopes")
			break loop
		case err := <-sockDone:
			sockDone <- err // read again below
			runErr = socketError(err)
			if runErr != nil {
				b.unhealthy.CompareAndSwap(nil, &runErr)
			}
			break loop
		case runErr = <-b.fatal:
			b.log.Error("stopping: slack refused the connection and retrying cannot help", "err", runErr)
			break loop
		}
	}

	// The drain is bounded however the loop ended, on a signal or because Slack ended the connection
	// for good: work in flight gets drainTimeout (a command may still answer on its response_url).
	defer time.AfterFunc(drainTimeout, stopWork).Stop()

	// From here on, envelopes that still arrive are left unacked: Slack sends them again to the next
	// connection. The socket keeps reading them (and answering pings) so that the acks of the work
	// in flight still go out.
	b.loopMu.Lock()
	b.draining = true
	b.loopMu.Unlock()

	// Drain: the reminder job (to a safe point), commands and reconciles in flight, then the reaction
	// batches (which ack), then the final poll counts.
	stopScheduler()
	b.work.Wait()
	stopHomes() // a Home not yet republished is published when its person next opens it
	homesDone.Wait()
	close(b.reactions)
	close(b.reconcile)
	writers.Wait()
	b.updates.stop()
	updater.Wait()
	if runErr == nil {
		// The acks are written; give Slack a moment to read them before the close (a close with
		// frames still unread on our side can reset the connection). An ack lost here costs only a
		// redelivery, which the store recognises by event_id.
		_ = b.sleep(context.Background(), b.shutdownGrace)
	}
	b.connected.Store(false)
	stopSocket()
	if err := <-sockDone; runErr == nil && err != nil && !errors.Is(err, context.Canceled) {
		runErr = socketError(err)
	}
	if b.dropped > 0 {
		b.log.Info("envelopes that arrived during shutdown were left for slack to send again", "count", b.dropped)
	}
	return runErr
}

// drainTimeout bounds how long work in flight may take once shutdown starts. When it has passed, the
// work's context ends, a reminder post Slack has not answered is abandoned (the next run finds it by
// its metadata if Slack carried it out), and what is left (the last commit, the final poll counts,
// the acks' grace, closing the socket) fits in the rest of the 7 s the README promises for the whole
// stop, inside the 10 s a container runtime allows between SIGTERM and SIGKILL.
const drainTimeout = 6 * time.Second

// maxEnvelopeBytes bounds one Socket Mode message. slack-go buffers and decodes a whole message, so
// without a bound one frame's declared length decides the bot's memory. Slack's largest payloads are
// far smaller: a message is at most 40,000 characters, a modal (whose view a view_submission carries)
// at most 100 blocks of at most 3,000 characters; even escaped as JSON \uXXXX pairs (12 bytes per
// character) that is under 4 MB. A larger message ends that connection (gorilla refuses it from its
// header, before reading it) and slack-go reconnects.
const maxEnvelopeBytes = 16 << 20

func socketError(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	if isAuthError(err) {
		return fmt.Errorf("socket mode: %w: %v: check SLACK_APP_TOKEN", ErrInvalidAuth, err)
	}
	return fmt.Errorf("socket mode: %w", err)
}

// connectError turns an apps.connections.open error that retrying cannot fix into the error Run
// returns, or nil for one worth retrying (network, 5xx, 429: slack-go backs off and tries again).
// slack-go itself gives up only on invalid_auth, account_inactive, not_authed and token_revoked; the
// rest of Slack's errors for the method that no retry can fix are here.
func connectError(err error) error {
	switch code := slackErrorCode(err); code {
	case "missing_scope", "not_allowed_token_type", "no_permission", "access_denied", "forbidden_team",
		"team_access_not_granted", "token_expired", "ekm_access_denied", "enterprise_is_restricted",
		"org_login_required", "two_factor_setup_required":
		return fmt.Errorf("socket mode: %w: apps.connections.open: %s: check SLACK_APP_TOKEN: it must be the app's app-level token (xapp-…) with the connections:write scope", ErrSocketRefused, code)
	}
	return nil
}

func isAuthError(err error) bool {
	switch slackErrorCode(err) {
	case "invalid_auth", "account_inactive", "not_authed", "token_revoked", "not_allowed_token_type":
		return true
	}
	return false
}

// Waits between attempts to reach Slack at start: doubling from startRetryFirst up to startRetryMax.
const (
	startRetryFirst = time.Second
	startRetryMax   = time.Minute
)

// authTest checks the bot token. While Slack cannot be reached (the network is down, DNS fails, Slack
// answers 5xx) it tries again with backoff until ctx ends: a bot started before its network is up
// connects when it comes up. An error retrying cannot fix is returned at once.
func (b *Bot) authTest(ctx context.Context) (*slack.AuthTestResponse, error) {
	wait := startRetryFirst
	for attempt := 1; ; attempt++ {
		var auth *slack.AuthTestResponse
		err := b.call(ctx, "auth.test", false, func(ctx context.Context) error {
			var err error
			auth, err = b.client.AuthTestContext(ctx)
			return err
		})
		switch {
		case err == nil:
			return auth, nil
		case isAuthError(err):
			return nil, fmt.Errorf("auth.test: %w: check SLACK_BOT_TOKEN", ErrInvalidAuth)
		case !retryLater(err) || ctx.Err() != nil:
			return nil, err
		}
		b.log.Warn("cannot reach slack; trying again", "attempt", attempt, "retry_in", wait, "err", err)
		if err := b.sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait = min(2*wait, startRetryMax)
	}
}

// CheckTokens asks Slack whether client's tokens work, before anything is set up: auth.test for the
// bot token and, with app, apps.connections.open for the app-level token (the URL it returns is not
// used). A refused token gives an error wrapping ErrInvalidAuth.
func CheckTokens(ctx context.Context, client *slack.Client, logger *slog.Logger, app bool) error {
	b := &Bot{client: client, log: logger, sleep: sleepCtx, metrics: NewMetrics(nil)}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if _, err := b.authTest(ctx); err != nil {
		return err
	}
	if !app {
		return nil
	}
	err := b.call(ctx, "apps.connections.open", true, func(ctx context.Context) error {
		_, _, err := client.StartSocketModeContext(ctx)
		return err
	})
	if isAuthError(err) {
		return fmt.Errorf("apps.connections.open: %w: check SLACK_APP_TOKEN", ErrInvalidAuth)
	}
	if cerr := connectError(err); cerr != nil {
		return cerr
	}
	return err
}

// onFrame handles one Socket Mode frame on the event loop (the socket's reading goroutine) and reports
// whether Slack asked for a new connection. A reaction or slash command envelope a fast decoder is
// sure of skips slack-go's parse; anything else is decoded as socketmode.Client decodes it and
// dispatched.
func (b *run) onFrame(ctx context.Context, frame []byte, received time.Time) (disconnect bool) {
	b.loopMu.Lock()
	defer b.loopMu.Unlock()
	if b.draining {
		if r, ok := decodeReactionEnvelope(frame); ok && r.envelopeID != "" {
			b.dropped++
		} else if evt, disconnect, err := parseFrame(frame); err == nil {
			if evt.Request != nil && evt.Request.EnvelopeID != "" && !disconnect {
				b.dropped++
			}
			return disconnect
		}
		return false
	}
	if r, ok := decodeReactionEnvelope(frame); ok {
		f := r.fact(received)
		defer b.recoverPanic("dispatch", f.req, received)
		if r.envelopeID != "" {
			b.metrics.envelope(string(socketmode.EventTypeEventsAPI), r.retryAttempt)
		}
		b.onReaction(f)
		return false
	}
	if s, ok := decodeSlashEnvelope(frame); ok {
		req := s.request()
		defer b.recoverPanic("dispatch", req, received)
		if s.envelopeID != "" {
			b.metrics.envelope(string(socketmode.EventTypeSlashCommand), s.retryAttempt)
		}
		// A static reply given before is answered here, in the ack; anything else runs on a goroutine.
		if p, ok := b.replies.get(s.cmd.Command, s.cmd.Text); ok {
			b.ack(req, json.RawMessage(p), received)
			return false
		}
		b.onSlashCommand(ctx, socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: s.cmd, Request: req}, received)
		return false
	}
	evt, disconnect, err := parseFrame(frame)
	switch {
	case disconnect:
		return true
	case errors.Is(err, io.ErrUnexpectedEOF):
		// A frame with no JSON value in it: nothing to handle (slack-go ignores it too).
	case err != nil:
		b.dispatch(ctx, socketmode.Event{Type: socketmode.EventTypeIncomingError, Data: &slack.IncomingEventError{ErrorObj: err}})
	default:
		b.dispatch(ctx, evt)
	}
	return false
}

// onSocketEvent handles the socket's own events (connecting, connected, connection errors) on the
// event loop, unless it is draining.
func (b *run) onSocketEvent(ctx context.Context, evt socketmode.Event) {
	b.loopMu.Lock()
	defer b.loopMu.Unlock()
	if !b.draining {
		b.dispatch(ctx, evt)
	}
}

// dispatch handles one socketmode event on the event loop. It never blocks on the Web API: slow work
// runs on tracked goroutines, and reactions go to the batcher.
func (b *run) dispatch(ctx context.Context, evt socketmode.Event) {
	received := time.Now()
	defer b.recoverPanic("dispatch", evt.Request, received)
	if evt.Request != nil && evt.Request.EnvelopeID != "" {
		b.metrics.envelope(string(evt.Type), evt.Request.RetryAttempt)
	}
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		b.connected.Store(false)
		b.metrics.disconnected()
		b.log.Debug("connecting to slack")
	case socketmode.EventTypeConnectionError:
		b.connected.Store(false)
		b.metrics.connectionError()
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			if err := connectError(e.ErrorObj); err != nil {
				b.failed(err)
				return
			}
			b.log.Warn("socket mode connection failed", "attempt", e.Attempt, "retry_in", e.Backoff, "err", e.ErrorObj)
		}
	case socketmode.EventTypeConnected:
		b.connected.Store(true)
		if e, ok := evt.Data.(*socketmode.ConnectedEvent); ok {
			b.metrics.connected(e.ConnectionCount)
			b.log.Info("socket mode connected", "connection", e.ConnectionCount)
		}
		b.requestReconcile()
	case socketmode.EventTypeHello:
		b.connected.Store(true)
	case socketmode.EventTypeInvalidAuth:
		b.log.Error("slack refused the app-level token")
	case socketmode.EventTypeIncomingError:
		if e, ok := evt.Data.(*slack.IncomingEventError); ok {
			b.log.Warn("socket mode read error", "err", e.ErrorObj)
		}
	case socketmode.EventTypeErrorWriteFailed:
		if e, ok := evt.Data.(*socketmode.ErrorWriteFailed); ok {
			b.log.Warn("socket mode write failed", "err", e.Cause)
		}
	case socketmode.EventTypeErrorBadMessage:
		b.badMessage(evt.Data, received)
	case socketmode.EventTypeEventsAPI:
		b.onEventsAPI(evt, received)
	case socketmode.EventTypeSlashCommand:
		b.onSlashCommand(ctx, evt, received)
	case socketmode.EventTypeInteractive:
		b.onInteractive(ctx, evt, received)
	default:
		// anything newer: acknowledged, nothing else to do.
		b.ack(evt.Request, nil, received)
	}
}

// badMessage acks an envelope slack-go could not parse, so Slack does not redeliver it forever, and
// says what was wrong with it.
func (b *run) badMessage(data any, received time.Time) {
	e, ok := data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	b.metrics.handlerError("bad_message")
	var env struct {
		EnvelopeID string `json:"envelope_id"`
		Type       string `json:"type"`
	}
	_ = json.Unmarshal(e.Message, &env)
	b.log.Warn("ignored an envelope that could not be parsed", "envelope_type", truncate(env.Type, 40), "err", e.Cause)
	if env.EnvelopeID != "" {
		// The type is the sender's text: it must not become a metric label.
		b.ack(&socketmode.Request{EnvelopeID: env.EnvelopeID, Type: "bad_message"}, nil, received)
	}
}

// ack acknowledges one envelope; received is when it arrived, for the ack-latency metric.
func (b *run) ack(req *socketmode.Request, payload any, received time.Time) {
	if req == nil || req.EnvelopeID == "" {
		return
	}
	if err := b.sock.ack(req.EnvelopeID, payload); err != nil {
		b.log.Warn("ack failed", "envelope_id", req.EnvelopeID, "err", err)
		return
	}
	b.metrics.acked(req.Type, received)
}

// memberMoved: someone joined or left channel, so its member list is asked again, and every Home
// rendered again (which polls it shows, how many have not answered).
func (b *run) memberMoved(channel string) {
	b.members.forget(channel)
	b.homes.changed()
}

func (b *run) onEventsAPI(evt socketmode.Event, received time.Time) {
	ev, ok := evt.Data.(slackevents.EventsAPIEvent)
	if !ok {
		b.ack(evt.Request, nil, received)
		return
	}
	eventID := ""
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		eventID = cb.EventID
	}
	switch inner := ev.InnerEvent.Data.(type) {
	case *slackevents.AppHomeOpenedEvent:
		if inner.Tab == "home" && inner.User != "" {
			b.homes.opened(inner.User)
		}
		b.ack(evt.Request, nil, received)
	case *slackevents.MemberJoinedChannelEvent:
		b.memberMoved(inner.Channel)
		b.ack(evt.Request, nil, received)
	case *slackevents.MemberLeftChannelEvent:
		b.memberMoved(inner.Channel)
		b.ack(evt.Request, nil, received)
	case *slackevents.ReactionAddedEvent:
		b.onReaction(reactionFact{req: evt.Request, received: received, slackReaction: slackReaction{eventID: eventID,
			user: inner.User, reaction: inner.Reaction, itemType: inner.Item.Type, channel: inner.Item.Channel,
			ts: inner.Item.Timestamp, eventTS: inner.EventTimestamp, added: true}})
	case *slackevents.ReactionRemovedEvent:
		b.onReaction(reactionFact{req: evt.Request, received: received, slackReaction: slackReaction{eventID: eventID,
			user: inner.User, reaction: inner.Reaction, itemType: inner.Item.Type, channel: inner.Item.Channel,
			ts: inner.Item.Timestamp, eventTS: inner.EventTimestamp}})
	default:
		b.ack(evt.Request, nil, received)
	}
}

// recoverPanic keeps one bad event from killing the bot. The envelope is acked so Slack does not
// redeliver the same poison again and again.
func (b *run) recoverPanic(where string, req *socketmode.Request, received time.Time) {
	if r := recover(); r != nil {
		b.recovered(where, r)
		if req != nil && b.sock != nil {
			b.ack(req, nil, received)
		}
	}
}

// safely runs fn, turning a panic into an error (logged and counted) so that a long-lived loop — the
// batcher, the reconciler, the updater — survives one bad item.
func (b *Bot) safely(where string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			b.recovered(where, r)
			err = fmt.Errorf("%s: panic: %v", where, r)
		}
	}()
	return fn()
}

// recovered logs and counts the panic r, recovered in where.
func (b *Bot) recovered(where string, r any) {
	b.metrics.panicked()
	b.log.Error("recovered from a panic", "where", where, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

// goWork runs fn on a goroutine that Run waits for before it shuts down. req, if not nil, is acked
// should fn panic.
func (b *run) goWork(name string, req *socketmode.Request, received time.Time, fn func()) {
	b.work.Go(func() {
		defer b.recoverPanic(name, req, received)
		fn()
	})
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// truncate bounds s to n characters (Slack's limits count characters, not bytes), ending a cut text
// with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return firstRunes(s, max(n-1, 0)) + "…"
}

// firstRunes is the first n characters of s.
func firstRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
