package slackemu

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// maxConnections is Slack's limit of simultaneous Socket Mode connections per app.
const maxConnections = 10

const writeTimeout = 10 * time.Second

var upgrader = websocket.Upgrader{
	// slack-go sends Origin: https://api.slack.com; Slack accepts any.
	CheckOrigin:     func(*http.Request) bool { return true },
	ReadBufferSize:  4096,
	WriteBufferSize: 32 * 1024,
}

// Envelope is one Socket Mode message to the app.
type Envelope struct {
	EnvelopeID string // generated (UUID-shaped) if ""
	// Type is events_api, slash_commands, interactive or disconnect; "" means
	// events_api. For disconnect, Payload is the reason string.
	Type                   string
	Payload                any // marshalled with encoding/json; json.RawMessage is used as is
	AcceptsResponsePayload bool
	RetryAttempt           int
	RetryReason            string
}

// Ack is an acknowledgement received from the app.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // nil if the app sent none
	At         time.Time       // wall-clock receipt time
}

// Pending is an envelope waiting for its ack.
type Pending struct {
	id   string
	done chan struct{}
	ack  Ack
	err  error
}

// ID is the envelope id.
func (p *Pending) ID() string { return p.id }

// Done is closed once the ack arrived (or the server closed).
func (p *Pending) Done() <-chan struct{} { return p.done }

// Wait returns the ack, ctx's error, or ErrClosed.
func (p *Pending) Wait(ctx context.Context) (Ack, error) {
	select {
	case <-p.done:
		return p.ack, p.err
	case <-ctx.Done():
		return Ack{}, ctx.Err()
	}
}

func (p *Pending) resolve(a Ack, err error) {
	p.ack, p.err = a, err
	close(p.done)
}

// Prepared is an envelope encoded ahead of time, so that sending it costs
// only the write. Send each Prepared once: its envelope id is fixed.
type Prepared struct {
	id   string
	data []byte
	ack  bool // false for disconnect, which is never acked

	retry *Envelope // an events_api envelope Options.Redeliver may send again
}

// ID is the envelope id.
func (p Prepared) ID() string { return p.id }

// Bytes is the encoded frame (do not modify).
func (p Prepared) Bytes() []byte { return p.data }

type wsConn struct {
	ws        *websocket.Conn
	wmu       sync.Mutex
	done      chan struct{}
	closeOnce sync.Once
}

func (c *wsConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// close is abrupt: the TCP connection goes away with no close frame.
func (c *wsConn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.ws.Close()
	})
}

func (s *Server) handleLink(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	_, ok := s.tickets[ticket]
	delete(s.tickets, ticket) // single use
	revoked := s.revoked
	s.mu.Unlock()
	if !ok || revoked {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	s.sockMu.Lock()
	n := len(s.conns)
	s.sockMu.Unlock()
	if n >= maxConnections {
		http.Error(w, "too many connections", http.StatusTooManyRequests)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade already replied
	}
	c := &wsConn{ws: ws, done: make(chan struct{})}
	ws.SetPingHandler(func(data string) error {
		if !s.pings.Load() {
			return nil
		}
		// A failed pong surfaces as a read error soon enough.
		_ = ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		return nil
	})

	// Register the conn while holding its write lock, so that it counts as
	// connected as soon as the app can see hello, yet any Send that picks it
	// writes after hello, as on Slack.
	c.wmu.Lock()
	s.sockMu.Lock()
	if s.closed {
		s.sockMu.Unlock()
		c.wmu.Unlock()
		c.close()
		return
	}
	s.conns = append(s.conns, c)
	s.total++
	hello, _ := json.Marshal(helloMsg{
		Type:           "hello",
		NumConnections: len(s.conns),
		DebugInfo:      debugInfo{Host: "applink-emulator", BuildNumber: 1, ApproximateConnectionTime: 18060},
		ConnectionInfo: connectionInfo{AppID: s.opts.AppID},
	})
	s.changedLocked()
	s.sockMu.Unlock()
	err = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
	if err == nil {
		err = c.ws.WriteMessage(websocket.TextMessage, hello)
	}
	c.wmu.Unlock()
	if err != nil {
		c.close()
	}
	s.log.Debug("socket connected", "remote", r.RemoteAddr)

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.pingLoop(c)
	}()
	s.readLoop(c)

	c.close()
	s.sockMu.Lock()
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i:i], s.conns[i+1:]...)
			break
		}
	}
	s.changedLocked()
	s.sockMu.Unlock()
	s.log.Debug("socket closed", "remote", r.RemoteAddr)
}

func (s *Server) changedLocked() {
	close(s.stateCh)
	s.stateCh = make(chan struct{})
}

func (s *Server) pingLoop(c *wsConn) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if !s.pings.Load() {
				continue
			}
			// Under wmu: SendOversized writes a frame around gorilla, and a ping must not land inside it.
			c.wmu.Lock()
			err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeTimeout))
			c.wmu.Unlock()
			if err != nil {
				return
			}
		case <-c.done:
			return
		case <-s.done:
			return
		}
	}
}

type ackMsg struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
}

func (s *Server) readLoop(c *wsConn) {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		m, ok := s.replyMemo.ack(data)
		if !ok {
			if err := json.Unmarshal(data, &m); err != nil || m.EnvelopeID == "" {
				s.log.Debug("ignoring unparseable frame from app", "err", err)
				continue
			}
		}
		a := Ack{EnvelopeID: m.EnvelopeID, At: time.Now()}
		if len(m.Payload) > 0 && string(m.Payload) != "null" {
			a.Payload = m.Payload
		}
		s.pendMu.Lock()
		s.acks = append(s.acks, a)
		p := s.pending[a.EnvelopeID]
		delete(s.pending, a.EnvelopeID)
		s.pendMu.Unlock()
		if p != nil {
			p.resolve(a, nil)
		}
	}
}

// WaitConnected waits until a socket is connected and hello is on its way:
// any Send after it returns reaches the app after hello.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.waitSockets(ctx, func() (bool, error) {
		if s.closed {
			return false, ErrClosed
		}
		return len(s.conns) > 0, nil
	})
}

// WaitConnections waits until Connections() >= n (n sockets accepted so far).
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	return s.waitSockets(ctx, func() (bool, error) { return s.total >= n && len(s.conns) > 0, nil })
}

// waitSockets waits until met, called with sockMu held whenever the sockets change, says they are as
// wanted, or gives the error that ends the wait.
func (s *Server) waitSockets(ctx context.Context, met func() (bool, error)) error {
	for {
		s.sockMu.Lock()
		ok, err := met()
		ch := s.stateCh
		s.sockMu.Unlock()
		if ok || err != nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ErrClosed
		}
	}
}

// Connected reports whether at least one socket is open.
func (s *Server) Connected() bool {
	s.sockMu.Lock()
	defer s.sockMu.Unlock()
	return len(s.conns) > 0
}

// Connections is the total number of sockets accepted so far.
func (s *Server) Connections() int {
	s.sockMu.Lock()
	defer s.sockMu.Unlock()
	return s.total
}

// OpenSockets is the number of sockets open now.
func (s *Server) OpenSockets() int {
	s.sockMu.Lock()
	defer s.sockMu.Unlock()
	return len(s.conns)
}

// Acks returns every ack received so far, in arrival order.
func (s *Server) Acks() []Ack {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// newEnvelopeID returns a UUID-shaped id, unique per server and random across servers.
func (s *Server) newEnvelopeID() string {
	n := s.seq.Add(1)
	var b [16]byte
	copy(b[:4], s.idPrefix)
	for i := 15; i >= 4; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

type envelopeJSON struct {
	EnvelopeID             string  `json:"envelope_id"`
	Type                   string  `json:"type"`
	AcceptsResponsePayload bool    `json:"accepts_response_payload"`
	RetryAttempt           *int    `json:"retry_attempt,omitempty"`
	RetryReason            *string `json:"retry_reason,omitempty"`
	Payload                any     `json:"payload"`
}

type helloMsg struct {
	Type           string         `json:"type"`
	NumConnections int            `json:"num_connections"`
	DebugInfo      debugInfo      `json:"debug_info"`
	ConnectionInfo connectionInfo `json:"connection_info"`
}

type debugInfo struct {
	Host                      string `json:"host"`
	BuildNumber               int    `json:"build_number,omitempty"`
	ApproximateConnectionTime int    `json:"approximate_connection_time,omitempty"`
}

type connectionInfo struct {
	AppID string `json:"app_id"`
}

type disconnectMsg struct {
	Type      string    `json:"type"`
	Reason    string    `json:"reason"`
	DebugInfo debugInfo `json:"debug_info"`
}

// Prepare encodes e now so that SendPrepared only writes.
func (s *Server) Prepare(e Envelope) (Prepared, error) {
	if e.Type == "disconnect" {
		reason, _ := e.Payload.(string)
		if reason == "" {
			reason = "warning"
		}
		b, err := json.Marshal(disconnectMsg{Type: "disconnect", Reason: reason, DebugInfo: debugInfo{Host: "applink-emulator"}})
		return Prepared{data: b}, err
	}
	if e.Type == "" {
		e.Type = "events_api"
	}
	if e.EnvelopeID == "" {
		e.EnvelopeID = s.newEnvelopeID()
	}
	var retry *Envelope
	if e.Type == "events_api" && s.redeliverAfter.Load() > 0 {
		retry = &e
	}
	if raw, ok := e.Payload.(json.RawMessage); ok && len(raw) > 0 {
		return Prepared{id: e.EnvelopeID, data: appendEnvelope(e, raw), ack: true, retry: retry}, nil
	}
	j := envelopeJSON{EnvelopeID: e.EnvelopeID, Type: e.Type, AcceptsResponsePayload: e.AcceptsResponsePayload, Payload: e.Payload}
	if e.Type == "events_api" {
		// Slack always sends both retry fields on events_api envelopes.
		j.RetryAttempt, j.RetryReason = &e.RetryAttempt, &e.RetryReason
	}
	if j.Payload == nil {
		j.Payload = json.RawMessage("{}")
	}
	b, err := json.Marshal(j)
	if err != nil {
		return Prepared{}, fmt.Errorf("encode envelope: %w", err)
	}
	return Prepared{id: e.EnvelopeID, data: b, ack: true, retry: retry}, nil
}

// appendEnvelope encodes e around a payload that is already JSON, without
// json.Marshal re-validating and compacting it: the per-envelope hot path.
func appendEnvelope(e Envelope, raw json.RawMessage) []byte {
	b := make([]byte, 0, len(raw)+160)
	b = append(b, `{"envelope_id":`...)
	b = appendJSONString(b, e.EnvelopeID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"accepts_response_payload":`...)
	b = strconv.AppendBool(b, e.AcceptsResponsePayload)
	if e.Type == "events_api" {
		b = append(b, `,"retry_attempt":`...)
		b = strconv.AppendInt(b, int64(e.RetryAttempt), 10)
		b = append(b, `,"retry_reason":`...)
		b = appendJSONString(b, e.RetryReason)
	}
	b = append(b, `,"payload":`...)
	b = append(b, raw...)
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// deliver sends e and waits for its ack.
func (s *Server) deliver(ctx context.Context, e Envelope) (Ack, error) {
	p, err := s.Send(ctx, e)
	if err != nil {
		return Ack{}, err
	}
	return p.Wait(ctx)
}

// Send writes e to the newest socket and returns its Pending. It fails with
// ErrNotConnected when no socket is open.
func (s *Server) Send(ctx context.Context, e Envelope) (*Pending, error) {
	p, err := s.Prepare(e)
	if err != nil {
		return nil, err
	}
	return s.SendPrepared(ctx, p)
}

// SendPrepared writes a prepared envelope to the newest socket.
func (s *Server) SendPrepared(ctx context.Context, p Prepared) (*Pending, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.sockMu.Lock()
	closed := s.closed
	var c *wsConn
	if n := len(s.conns); n > 0 {
		c = s.conns[n-1]
	}
	s.sockMu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if c == nil {
		return nil, ErrNotConnected
	}
	pd := &Pending{id: p.id, done: make(chan struct{})}
	if !p.ack {
		pd.resolve(Ack{}, nil)
		return pd, c.write(p.data)
	}
	// Register before writing: the ack can beat the write's return.
	s.pendMu.Lock()
	if _, dup := s.pending[p.id]; dup {
		s.pendMu.Unlock()
		return nil, fmt.Errorf("slackemu: envelope %s already pending", p.id)
	}
	s.pending[p.id] = pd
	s.pendMu.Unlock()
	if err := c.write(p.data); err != nil {
		s.pendMu.Lock()
		delete(s.pending, p.id)
		s.pendMu.Unlock()
		return nil, fmt.Errorf("write envelope: %w", err)
	}
	if p.retry != nil && s.enter() {
		go func() {
			defer s.wg.Done()
			s.redeliver(*p.retry, pd)
		}()
	}
	return pd, nil
}

// SendOversized writes one unfragmented text frame of size bytes (a JSON
// object padded with spaces, size >= 64) to the newest socket, as a broken or
// hostile peer could: it tests the app's read limit. The frame is streamed
// from a small buffer, so the emulator's memory does not grow with size. It
// returns nil once the whole frame is written, or the write error when the
// app closed the socket first (what an app with a read limit does).
func (s *Server) SendOversized(ctx context.Context, size int64) error {
	const head = `{"envelope_id":"oversized","type":"events_api","payload":{}`
	if size < int64(len(head))+1 {
		return fmt.Errorf("slackemu: oversized frame of %d bytes is too small", size)
	}
	s.sockMu.Lock()
	var c *wsConn
	if n := len(s.conns); n > 0 {
		c = s.conns[n-1]
	}
	s.sockMu.Unlock()
	if c == nil {
		return ErrNotConnected
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	nc := c.ws.NetConn()
	stop := context.AfterFunc(ctx, func() { _ = nc.SetWriteDeadline(time.Now()) })
	defer stop()
	// RFC 6455 §5.2: FIN + text opcode, no mask from a server, 64-bit length.
	hdr := []byte{0x81, 127, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(hdr[2:], uint64(size))
	buf := make([]byte, 64*1024)
	n := copy(buf, hdr)
	n += copy(buf[n:], head)
	left := size - int64(len(head)) - 1 // the closing brace goes last
	for {
		for n < len(buf) && left > 0 {
			buf[n] = ' '
			n++
			left--
		}
		if left == 0 && n < len(buf) {
			buf[n] = '}'
			n++
			left = -1
		}
		if err := nc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
			return err
		}
		if _, err := nc.Write(buf[:n]); err != nil {
			return fmt.Errorf("write oversized frame: %w", err)
		}
		if left < 0 {
			return nil
		}
		n = 0
	}
}

// SetRedeliver sets Options.Redeliver for envelopes sent from now on (0 turns it off).
func (s *Server) SetRedeliver(d time.Duration) { s.redeliverAfter.Store(int64(d)) }

// redeliver sends e again, as Slack does, each time Options.Redeliver passes without an ack.
func (s *Server) redeliver(e Envelope, pd *Pending) {
	for attempt := 1; attempt <= 3; attempt++ {
		t := time.NewTimer(time.Duration(s.redeliverAfter.Load()))
		select {
		case <-pd.done:
			t.Stop()
			return
		case <-s.done:
			t.Stop()
			return
		case <-t.C:
		}
		e.RetryAttempt, e.RetryReason = attempt, "timeout"
		again, err := s.Prepare(e)
		if err != nil {
			return
		}
		s.sockMu.Lock()
		var c *wsConn
		if n := len(s.conns); n > 0 {
			c = s.conns[n-1]
		}
		s.sockMu.Unlock()
		if c != nil {
			_ = c.write(again.data) // a failed write is one more missed delivery
		}
	}
}

// DropSockets closes every socket's TCP connection abruptly, with no close frame.
func (s *Server) DropSockets() {
	s.sockMu.Lock()
	conns := append([]*wsConn(nil), s.conns...)
	s.sockMu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// Disconnect sends {"type":"disconnect","reason":reason,...} on every socket,
// as Slack does before it refreshes a connection, and closes each socket
// after Options.DisconnectGrace if the app has not closed it already.
func (s *Server) Disconnect(reason string) {
	p, _ := s.Prepare(Envelope{Type: "disconnect", Payload: reason})
	s.sockMu.Lock()
	conns := append([]*wsConn(nil), s.conns...)
	s.sockMu.Unlock()
	for _, c := range conns {
		if err := c.write(p.data); err != nil {
			c.close()
			continue
		}
		if !s.enter() {
			c.close()
			continue
		}
		go func() {
			defer s.wg.Done()
			t := time.NewTimer(s.opts.DisconnectGrace)
			defer t.Stop()
			select {
			case <-t.C:
			case <-c.done:
			case <-s.done:
			}
			c.close()
		}()
	}
}

// SetPings turns the server's WebSocket pings, and its pongs to the app's
// pings, on or off. With pings off slack-go declares the socket dead after
// its maxPingInterval and reconnects.
func (s *Server) SetPings(enabled bool) { s.pings.Store(enabled) }

// RevokeTokens makes every token invalid: every Web API call, including
// apps.connections.open, then fails with invalid_auth. Open sockets are
// dropped, as Slack drops the connections of an app whose tokens are revoked.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	s.revoked = true
	clear(s.tickets)
	s.mu.Unlock()
	s.DropSockets()
}
