package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// socket is the bot's Socket Mode connection: the loop that opens it (apps.connections.open through
// slack-go's client, then the WebSocket), reads its frames and hands each to the event loop on the
// reading goroutine itself, and reconnects when Slack asks, the connection drops or Slack's pings stop.
//
// It replaces socketmode.Client's Run, which reads a frame, decodes it six times and passes it
// through three goroutines before the bot sees it: here a reaction envelope is decoded once
// (decodeReactionEnvelope) and anything else exactly as socketmode.Client decodes it, into slack-go's
// own types (parseFrame). Acks are written by whoever acks, under a lock, with no goroutine between.
// What it does on each failure follows socketmode.Client: see run and serveConn.
type socket struct {
	client       *slack.Client
	readLimit    int64
	pingInterval time.Duration
	// onFrame handles one frame (on the reading goroutine); it reports a disconnect request.
	onFrame func(frame []byte, received time.Time) (disconnect bool)
	// onEvent receives the connection's own events (connecting, connected, errors) as
	// socketmode.Client would put them on its Events channel.
	onEvent func(evt socketmode.Event)
	debug   func(msg string, args ...any)

	mu sync.Mutex // serialises writes; guards w and nc
	w  frameWriter
	nc *batchConn // w's network connection (nil in tests)
	// buf is the ack being built; under mu.
	buf []byte
}

// frameWriter is the part of *websocket.Conn that acks use.
type frameWriter interface {
	WriteMessage(messageType int, data []byte) error
	SetWriteDeadline(t time.Time) error
}

// errNotConnected is an ack's error while no connection is open: the envelope will come again.
var errNotConnected = errors.New("socket mode: not connected")

// Socket Mode limits and timeouts, as socketmode.Client has them.
const (
	socketHandshakeTimeout = 45 * time.Second
	socketWriteBuffer      = 32 << 10 // above Slack's 20 KB response limit: one frame per response
	socketWriteTimeout     = 10 * time.Second
	maxResponseBytes       = 20 << 10 // Slack silently drops a response this large
	defaultPingInterval    = 30 * time.Second
	connectBackoffFirst    = 100 * time.Millisecond
	connectBackoffMax      = 5 * time.Minute
)

// run connects and serves connections one after another until ctx ends (it then returns
// context.Canceled) or connecting meets an error retrying cannot fix, which it returns.
func (s *socket) run(ctx context.Context) error {
	for count := 0; ; count++ {
		info, conn, nc, err := s.connect(ctx, count)
		if err != nil {
			return err
		}
		s.onEvent(socketmode.Event{Type: socketmode.EventTypeConnected,
			Data: &socketmode.ConnectedEvent{ConnectionCount: count, Info: info}})
		err = s.serveConn(ctx, conn, nc)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.debug("reconnecting", "err", err)
	}
}

// connect opens a connection, trying again with a doubling backoff (from 100 ms to 5 minutes, or
// Slack's Retry-After) until it works. The tokens' refusal ends it with the error, as in slack-go.
func (s *socket) connect(ctx context.Context, count int) (*slack.SocketModeConnection, *websocket.Conn, *batchConn, error) {
	attempts := 0
	for {
		s.onEvent(socketmode.Event{Type: socketmode.EventTypeConnecting,
			Data: &slack.ConnectingEvent{Attempt: attempts + 1, ConnectionCount: count}})
		info, conn, nc, err := s.openAndDial(ctx)
		if err == nil {
			return info, conn, nc, nil
		}
		switch err.Error() {
		case "invalid_auth", "account_inactive", "not_authed", "token_revoked":
			return nil, nil, nil, err
		}
		var wait time.Duration
		if codeErr, ok := errors.AsType[slack.StatusCodeError](err); ok && codeErr.Code == http.StatusNotFound {
			s.onEvent(socketmode.Event{Type: socketmode.EventTypeInvalidAuth, Data: &slack.InvalidAuthEvent{}})
			return nil, nil, nil, err
		} else if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
			wait = rl.RetryAfter
		}
		wait = max(wait, min(connectBackoffFirst<<min(attempts, 30), connectBackoffMax))
		attempts++
		s.onEvent(socketmode.Event{Type: socketmode.EventTypeConnectionError,
			Data: &slack.ConnectionErrorEvent{Attempt: attempts, Backoff: wait, ErrorObj: err}})
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, nil, nil, err
		}
	}
}

func (s *socket) openAndDial(ctx context.Context) (*slack.SocketModeConnection, *websocket.Conn, *batchConn, error) {
	info, url, err := s.client.StartSocketModeContext(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	var nc *batchConn
	dialer := &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: socketHandshakeTimeout,
		WriteBufferSize: socketWriteBuffer,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			nc = &batchConn{Conn: c}
			return nc, nil
		}}
	conn, resp, err := dialer.DialContext(ctx, url, http.Header{"Origin": {"https://api.slack.com"}})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, nil, nil, err
	}
	conn.SetReadLimit(s.readLimit)
	return info, conn, nc, nil
}

// batchConn is the WebSocket's network connection. Writes go straight through, except while a batch
// of acks is written: then they are gathered and go out in one write(2) when the batch ends. (Slack
// takes one ack per WebSocket message, so a batch of acks is many frames; this makes them one write.)
type batchConn struct {
	net.Conn
	mu     sync.Mutex
	gather bool
	buf    []byte
}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gather {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// begin starts gathering writes; flush writes what was gathered and stops.
func (c *batchConn) begin() {
	c.mu.Lock()
	c.gather = true
	c.mu.Unlock()
}

func (c *batchConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gather = false
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

// serveConn reads conn until it fails, Slack asks for a new connection, Slack's pings stop for
// longer than pingInterval, or ctx ends; it closes conn and says why it stopped.
func (s *socket) serveConn(ctx context.Context, conn *websocket.Conn, nc *batchConn) error {
	var lastPing atomic.Int64 // unix nanoseconds
	conn.SetPingHandler(func(data string) error {
		lastPing.Store(time.Now().UnixNano())
		if err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(socketWriteTimeout)); err != nil {
			s.debug("write pong", "err", err)
		}
		return nil
	})
	s.mu.Lock()
	s.w, s.nc = conn, nc
	s.mu.Unlock()

	// The watchdog closes conn, which ends the read below, when ctx ends or pings stop.
	stop := make(chan struct{})
	var why atomic.Pointer[error]
	var watchdog sync.WaitGroup
	watchdog.Go(func() {
		defer conn.Close()
		interval := s.pingInterval
		if interval <= 0 {
			interval = defaultPingInterval
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case now := <-t.C:
				if now.Sub(time.Unix(0, lastPing.Load())) > interval {
					err := errors.New("ping timeout: slack sent no websocket ping for longer than the ping interval")
					why.Store(&err)
					return
				}
			}
		}
	})
	err := s.read(conn)
	close(stop)
	watchdog.Wait()
	s.mu.Lock()
	s.w, s.nc = nil, nil
	s.mu.Unlock()
	if p := why.Load(); p != nil {
		return *p
	}
	return err
}

// read hands each frame to onFrame until a read fails or onFrame reports a disconnect request.
// Once a read has failed gorilla fails every later one, so any read error ends the connection.
func (s *socket) read(conn *websocket.Conn) error {
	var buf bytes.Buffer
	for {
		_, r, err := conn.NextReader()
		if err != nil {
			return err
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return err
		}
		if s.onFrame(buf.Bytes(), time.Now()) {
			return errors.New("slack asked for a new connection (disconnect)")
		}
	}
}

// ack writes the ack of one envelope: its envelope_id and, if not nil, the payload.
func (s *socket) ack(envelopeID string, payload any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return errNotConnected
	}
	if err := s.w.SetWriteDeadline(time.Now().Add(socketWriteTimeout)); err != nil {
		return err
	}
	return s.writeAck(envelopeID, payload)
}

// ackAll writes the acks of several envelopes (no payload) with one write(2); it returns how many
// were written, and the error that stopped the rest.
func (s *socket) ackAll(envelopeIDs []string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return 0, errNotConnected
	}
	if err := s.w.SetWriteDeadline(time.Now().Add(socketWriteTimeout)); err != nil {
		return 0, err
	}
	if s.nc != nil {
		s.nc.begin()
	}
	n := 0
	var err error
	for _, id := range envelopeIDs {
		if err = s.writeAck(id, nil); err != nil {
			break
		}
		n++
	}
	if s.nc != nil {
		if ferr := s.nc.flush(); ferr != nil {
			return 0, ferr
		}
	}
	return n, err
}

// writeAck writes one ack; s.mu is held. A plain ack is built by hand: encoding/json's reflection is
// most of an ack's cost, and an envelope_id is a short ASCII token.
func (s *socket) writeAck(envelopeID string, payload any) error {
	if payload == nil && plainJSONString(envelopeID) {
		s.buf = append(append(append(s.buf[:0], `{"envelope_id":"`...), envelopeID...), `"}`...)
		return s.w.WriteMessage(websocket.TextMessage, s.buf)
	}
	js, err := json.Marshal(socketmode.Response{EnvelopeID: envelopeID, Payload: payload})
	if err != nil {
		return fmt.Errorf("marshal socket mode response: %w", err)
	}
	if len(js) >= maxResponseBytes {
		return fmt.Errorf("socket mode response of %d bytes: slack drops responses of %d bytes or more", len(js), maxResponseBytes)
	}
	return s.w.WriteMessage(websocket.TextMessage, js)
}

// plainJSONString reports whether s can go between JSON quotes as it is, and encodes as encoding/json
// would encode it (printable ASCII, none of " \ < > &).
func plainJSONString(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// parseFrame does to a frame what socketmode.Client does before its Events channel: read the first
// JSON value (ok is false, with the error, for a frame with none), then decode it by envelope type
// into slack-go's types; a frame it cannot decode becomes an EventTypeErrorBadMessage event, and
// disconnect reports a disconnect request (which socketmode.Client handles itself).
func parseFrame(frame []byte) (evt socketmode.Event, disconnect bool, err error) {
	var msg json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(frame)).Decode(&msg); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return socketmode.Event{}, false, err
	}
	bad := func(err error) (socketmode.Event, bool, error) {
		return socketmode.Event{Type: socketmode.EventTypeErrorBadMessage, Data: &socketmode.ErrorBadMessage{Cause: err, Message: msg}}, false, nil
	}
	req := &socketmode.Request{}
	if err := json.Unmarshal(msg, req); err != nil {
		return bad(fmt.Errorf("unmarshalling WebSocket message: %w", err))
	}
	switch req.Type {
	case socketmode.RequestTypeHello:
		return socketmode.Event{Type: socketmode.EventTypeHello, Request: req}, false, nil
	case socketmode.RequestTypeEventsAPI:
		ev, err := slackevents.ParseEvent(req.Payload, slackevents.OptionNoVerifyToken())
		if err != nil {
			return bad(fmt.Errorf("parsing Events API event: %w", err))
		}
		return socketmode.Event{Type: socketmode.EventTypeEventsAPI, Data: ev, Request: req}, false, nil
	case socketmode.RequestTypeDisconnect:
		return socketmode.Event{Type: socketmode.EventTypeDisconnect, Request: req}, true, nil
	case socketmode.RequestTypeSlashCommands:
		var cmd slack.SlashCommand
		if err := json.Unmarshal(req.Payload, &cmd); err != nil {
			return bad(fmt.Errorf("parsing slash command: %w", err))
		}
		return socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: cmd, Request: req}, false, nil
	case socketmode.RequestTypeInteractive:
		var cb slack.InteractionCallback
		if err := json.Unmarshal(req.Payload, &cb); err != nil {
			return bad(fmt.Errorf("parsing interaction callback: %w", err))
		}
		return socketmode.Event{Type: socketmode.EventTypeInteractive, Data: cb, Request: req}, false, nil
	default:
		return bad(fmt.Errorf("processing WebSocket message: encountered unsupported type %q", req.Type))
	}
}
