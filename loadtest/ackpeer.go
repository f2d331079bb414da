package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// AckPeer is the machine's limit for `internbot load -compare`: a Socket Mode app that connects as
// the bot does (apps.connections.open with the app-level token, then the WebSocket) and acks every
// envelope by its envelope_id, doing nothing else, one WebSocket message per ack as slack-go writes
// them. It runs until ctx ends, and then returns nil.
func AckPeer(ctx context.Context, appToken, apiURL string) error {
	api := slack.New("", slack.OptionAPIURL(apiURL), slack.OptionAppLevelToken(appToken),
		slack.OptionHTTPClient(&http.Client{Timeout: 30 * time.Second}))
	_, url, err := api.StartSocketModeContext(ctx)
	if err != nil {
		return fmt.Errorf("ack-peer: apps.connections.open: %w", err)
	}
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second}
	conn, resp, err := dialer.DialContext(ctx, url, http.Header{"Origin": {"https://api.slack.com"}})
	if err != nil {
		return fmt.Errorf("ack-peer: dial: %w", err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	defer conn.Close()
	// Closing the connection is what ends the blocked read when ctx ends.
	defer context.AfterFunc(ctx, func() { conn.Close() })()

	// One goroutine reads and writes (gorilla allows one of each); the default ping handler answers
	// pings from inside ReadMessage, so on this goroutine too.
	ack := make([]byte, 0, 64)
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ack-peer: read: %w", err)
		}
		id := envelopeID(msg)
		if id == nil {
			continue // hello, or anything else without an envelope_id
		}
		ack = append(append(append(ack[:0], `{"envelope_id":"`...), id...), `"}`...)
		if err := conn.WriteMessage(websocket.TextMessage, ack); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ack-peer: write: %w", err)
		}
	}
}

// envelopeID is the frame's envelope_id, as JSON string content, or nil if it has none. Slack and the
// emulator put it first; anything else takes encoding/json.
func envelopeID(msg []byte) []byte {
	const prefix = `{"envelope_id":"`
	if rest, ok := bytes.CutPrefix(msg, []byte(prefix)); ok {
		if i := bytes.IndexByte(rest, '"'); i > 0 && bytes.IndexByte(rest[:i], '\\') < 0 {
			return rest[:i]
		}
	}
	var env struct {
		EnvelopeID string `json:"envelope_id"`
	}
	if json.Unmarshal(msg, &env) != nil || env.EnvelopeID == "" {
		return nil
	}
	b, err := json.Marshal(env.EnvelopeID)
	if err != nil {
		return nil
	}
	return b[1 : len(b)-1]
}
