package slackemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors returned by the emulator's Go API.
var (
	// ErrClosed is returned once Close has been called.
	ErrClosed = errors.New("slackemu: server closed")
	// ErrNotConnected is returned by Send when no Socket Mode connection is open.
	ErrNotConnected = errors.New("slackemu: no socket mode connection")
	// ErrNotStarted is returned when a method needs Start to have been called.
	ErrNotStarted = errors.New("slackemu: server not started")
	// ErrMessageNotFound is returned by drivers given a channel and ts that name no message.
	ErrMessageNotFound = errors.New("slackemu: message not found")
)

// Options configure a Server. Zero values get the defaults documented on each field.
type Options struct {
	BotToken string // default "xoxb-emulator-bot"
	AppToken string // default "xapp-emulator-app"

	TeamID     string // default "T0EMU"
	TeamName   string // default "Emulator"
	TeamDomain string // default "emulator"
	AppID      string // default "A0EMU"
	BotUserID  string // default "U0BOT"
	BotID      string // default "B0BOT"
	BotName    string // the bot user's name; default "internbot"

	// PingInterval is how often the server sends a WebSocket ping on each
	// socket; slack-go reconnects when it sees none for its maxPingInterval
	// (30s by default). Default 10s.
	PingInterval time.Duration
	// DisconnectGrace is how long Disconnect waits after sending the
	// disconnect message before closing the socket itself. Default 1s.
	DisconnectGrace time.Duration
	// Redeliver, when set, makes the server behave like Slack with an
	// events_api envelope that is not acked: after Redeliver it sends it
	// again (same envelope and event, retry_attempt + 1, retry_reason
	// "timeout"), on whichever socket is open then, up to 3 times. Off by
	// default, so tests that count envelopes see exactly what they sent.
	// SetRedeliver changes it later.
	Redeliver time.Duration
	// Now is the clock behind every ts, event_ts and event_time. Default time.Now.
	Now func() time.Time
	// Logger receives connection-level logs (never per-envelope, never tokens).
	// Default: discard.
	Logger *slog.Logger
}

// Server is a Slack emulator: the Web API over HTTP at /api/<method>, Socket
// Mode over WebSocket at /link, and response_url endpoints at /response/<id>.
// All methods are safe for concurrent use.
type Server struct {
	opts Options
	log  *slog.Logger

	redeliverAfter atomic.Int64 // Options.Redeliver, settable with SetRedeliver

	clockMu    sync.Mutex
	now        func() time.Time
	lastMicros int64

	// mu guards the world: users, channels, messages, reactions, response
	// URLs, call counts, failures, tokens, tickets and subscribers.
	mu        sync.Mutex
	users     map[string]*User
	channels  map[string]*channel
	chanOrder []string
	ims       map[string]string // user id -> D... id
	imSeq     int
	responses map[string]*responseURL
	triggers  map[string]*trigger
	views     map[string]*View
	files     map[string]*File
	calls     map[string]int
	published []string // whose Home each views.publish that succeeded was, in order
	failures  map[string]*Failure
	// rateLimited enforces tiers (see EnforceRateLimits); recent are the calls counted per key, and
	// limited how many were answered 429.
	rateLimited bool
	recent      map[string][]time.Time
	limited     int
	revoked     bool
	tickets     map[string]struct{}
	subs        map[*subscriber]struct{}

	// replyMemo: slash command replies already checked (see replyMemo).
	replyMemo replyMemo

	// sockMu guards the socket set and the lifecycle flags.
	sockMu  sync.Mutex
	conns   []*wsConn // oldest first; the newest gets envelopes
	total   int
	stateCh chan struct{} // closed and replaced when conns change
	started bool
	closed  bool

	pendMu  sync.Mutex
	pending map[string]*Pending
	acks    []Ack

	pings atomic.Bool
	seq   atomic.Uint64

	idPrefix string // random, makes envelope ids unique across servers
	evPrefix string

	ln      net.Listener
	httpSrv *http.Server
	base    string             // "http://127.0.0.1:PORT"
	stop    context.CancelFunc // called by Close
	done    <-chan struct{}    // closed by Close
	wg      sync.WaitGroup
	out     outbox
}

// New returns an unstarted Server. The bot user (Options.BotUserID) exists
// from the start, so users.info and conversations.open work for it.
func New(opts Options) *Server {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&opts.BotToken, "xoxb-emulator-bot")
	def(&opts.AppToken, "xapp-emulator-app")
	def(&opts.TeamID, "T0EMU")
	def(&opts.TeamName, "Emulator")
	def(&opts.TeamDomain, "emulator")
	def(&opts.AppID, "A0EMU")
	def(&opts.BotUserID, "U0BOT")
	def(&opts.BotID, "B0BOT")
	def(&opts.BotName, "internbot")
	if opts.PingInterval <= 0 {
		opts.PingInterval = 10 * time.Second
	}
	if opts.DisconnectGrace <= 0 {
		opts.DisconnectGrace = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{
		opts:      opts,
		log:       log.With("component", "slackemu"),
		now:       opts.Now,
		users:     map[string]*User{},
		channels:  map[string]*channel{},
		ims:       map[string]string{},
		responses: map[string]*responseURL{},
		triggers:  map[string]*trigger{},
		views:     map[string]*View{},
		files:     map[string]*File{},
		calls:     map[string]int{},
		failures:  map[string]*Failure{},
		tickets:   map[string]struct{}{},
		subs:      map[*subscriber]struct{}{},
		stateCh:   make(chan struct{}),
		pending:   map[string]*Pending{},
		idPrefix:  randomHex(4),
		evPrefix:  randomUpper(4),
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop, s.done = stop, ctx.Done()
	s.pings.Store(true)
	s.redeliverAfter.Store(int64(opts.Redeliver))
	s.out.init()
	s.users[opts.BotUserID] = &User{ID: opts.BotUserID, Name: opts.BotName, RealName: opts.BotName, TZ: "UTC", IsBot: true}
	return s
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves until Close.
func (s *Server) Start(addr string) error {
	s.sockMu.Lock()
	if s.closed {
		s.sockMu.Unlock()
		return ErrClosed
	}
	if s.started {
		s.sockMu.Unlock()
		return errors.New("slackemu: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.sockMu.Unlock()
		return fmt.Errorf("listen: %w", err)
	}
	s.started = true
	s.ln = ln
	s.base = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/link", s.handleLink)
	mux.HandleFunc("/link/", s.handleLink)
	mux.HandleFunc("/response/", s.handleResponseURL)
	mux.HandleFunc("/upload/", s.handleUpload)
	s.httpSrv = &http.Server{Handler: s.track(mux), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(2)
	s.sockMu.Unlock()

	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.runOutbox()
	}()
	s.log.Debug("started", "addr", ln.Addr().String())
	return nil
}

// track makes every handler (including hijacked WebSocket ones, which
// http.Server does not wait for) part of s.wg, so Close waits for them. It
// also dates every response on the emulator's clock, as Slack's responses
// carry Slack's time (net/http would use the host's).
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", s.Now().UTC().Format(http.TimeFormat))
		if !s.enter() {
			http.Error(w, "server closed", http.StatusServiceUnavailable)
			return
		}
		defer s.wg.Done()
		h.ServeHTTP(w, r)
	})
}

// enter registers one goroutine with s.wg unless the server is closed.
func (s *Server) enter() bool {
	s.sockMu.Lock()
	defer s.sockMu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// Close closes every socket and the listener, fails outstanding Pendings
// with ErrClosed, ends subscriptions and waits for the server's goroutines.
func (s *Server) Close() error {
	s.sockMu.Lock()
	if s.closed {
		s.sockMu.Unlock()
		return nil
	}
	s.closed = true
	s.stop()
	conns := append([]*wsConn(nil), s.conns...)
	srv := s.httpSrv
	s.sockMu.Unlock()

	var err error
	if srv != nil {
		err = srv.Close()
	}
	for _, c := range conns {
		c.close()
	}
	s.pendMu.Lock()
	for id, p := range s.pending {
		delete(s.pending, id)
		p.resolve(Ack{}, ErrClosed)
	}
	s.pendMu.Unlock()
	s.wg.Wait()
	return err
}

// APIURL is the Web API base URL with a trailing slash, for slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.baseURL() + "/api/" }

// URL is the server's base URL ("http://127.0.0.1:PORT").
func (s *Server) URL() string { return s.baseURL() }

func (s *Server) baseURL() string {
	s.sockMu.Lock()
	defer s.sockMu.Unlock()
	return s.base
}

// BotUserID is the bot's user id (U...).
func (s *Server) BotUserID() string { return s.opts.BotUserID }

// BotID is the bot's bot id (B...).
func (s *Server) BotID() string { return s.opts.BotID }

// BotToken is the bot token (xoxb-) the Web API accepts.
func (s *Server) BotToken() string { return s.opts.BotToken }

// AppToken is the app-level token (xapp-) apps.connections.open accepts.
func (s *Server) AppToken() string { return s.opts.AppToken }

// TeamID is the workspace id.
func (s *Server) TeamID() string { return s.opts.TeamID }

// AppID is the app id.
func (s *Server) AppID() string { return s.opts.AppID }

// SetNow swaps the clock at runtime; ts values stay strictly increasing even
// if the new clock goes backwards.
func (s *Server) SetNow(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.clockMu.Lock()
	s.now = now
	s.clockMu.Unlock()
}

// Now is the emulator's current time.
func (s *Server) Now() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	return s.now()
}

// nextTS returns a fresh Slack timestamp ("<unix seconds>.<6 digits>"),
// strictly increasing per server, plus the clock reading it came from.
func (s *Server) nextTS() (string, time.Time) {
	s.clockMu.Lock()
	t := s.now()
	m := t.UnixMicro()
	if m <= s.lastMicros {
		m = s.lastMicros + 1
	}
	s.lastMicros = m
	s.clockMu.Unlock()
	return formatTS(m), t
}

func formatTS(micros int64) string {
	sec, us := micros/1e6, micros%1e6
	b := make([]byte, 0, 17)
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.')
	frac := strconv.AppendInt(make([]byte, 0, 6), us, 10)
	for i := len(frac); i < 6; i++ {
		b = append(b, '0')
	}
	return string(append(b, frac...))
}

// parseTS turns "1700000000.000100" into microseconds; ok is false if malformed.
func parseTS(ts string) (int64, bool) {
	sec, frac, found := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s < 0 || s > 1<<40 { // 1<<40 s keeps micros far from overflow
		return 0, false
	}
	var us int64
	if found {
		if len(frac) > 6 || frac == "" {
			return 0, false
		}
		for len(frac) < 6 {
			frac += "0"
		}
		if us, err = strconv.ParseInt(frac, 10, 64); err != nil || us < 0 {
			return 0, false
		}
	}
	return s*1e6 + us, true
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

const upperAlnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func randomUpper(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = upperAlnum[int(b[i])%len(upperAlnum)]
	}
	return string(b)
}
