package slackemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Interactivity, shaped from Slack's interaction payload reference
// (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload and its siblings):
// a person's click, modal submission or shortcut reaches the app as an "interactive" Socket Mode
// envelope whose payload carries a type, the user, the team, a trigger_id (good for 3 seconds, once)
// and, where there is a message or conversation to answer in, a response_url.

// triggerTTL is how long a trigger_id may open a modal: Slack's "3 seconds".
const triggerTTL = 3 * time.Second

// interactiveAckDeadline is how long Slack waits for an interaction's ack before it shows the person
// an error.
const interactiveAckDeadline = 3 * time.Second

// ErrInteractionAckTimeout is returned by Interact when the app acked after Slack's 3 seconds.
var ErrInteractionAckTimeout = errors.New("interaction not acked within 3 seconds")

type trigger struct {
	user   string
	issued time.Time
	used   bool
}

// InteractionUser is the "user" object of an interaction payload.
type InteractionUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	TeamID   string `json:"team_id"`
}

// InteractionTeam is the "team" object of an interaction payload.
type InteractionTeam struct {
	ID     string `json:"id"`
	Domain string `json:"domain"`
}

// Interaction is what every interaction payload carries, filled in by NewInteraction: the caller
// adds what its type needs (actions, view, callback_id…) in Fields and sends it with Interact.
type Interaction struct {
	Type                string          `json:"type"`
	Token               string          `json:"token"`
	APIAppID            string          `json:"api_app_id"`
	User                InteractionUser `json:"user"`
	Team                InteractionTeam `json:"team"`
	Enterprise          *struct{}       `json:"enterprise"`
	IsEnterpriseInstall bool            `json:"is_enterprise_install"`
	TriggerID           string          `json:"trigger_id"`
	// ResponseURL is set for interactions that have a conversation to answer in (block_actions on a
	// message, message shortcuts), not for view_submission or global shortcuts.
	ResponseURL string `json:"response_url,omitempty"`
	// Fields are the type's own keys (actions, container, channel, message, view, callback_id, …),
	// merged into the payload's top level.
	Fields map[string]any `json:"-"`
}

// MarshalJSON merges Fields into the payload's top level.
func (in Interaction) MarshalJSON() ([]byte, error) {
	type plain Interaction
	base, err := json.Marshal(plain(in))
	if err != nil {
		return nil, err
	}
	if len(in.Fields) == 0 {
		return base, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(base, &m); err != nil {
		return nil, err
	}
	for k, v := range in.Fields {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("interaction field %s: %w", k, err)
		}
		m[k] = b
	}
	return json.Marshal(m)
}

// NewInteraction starts an interaction payload of type typ by user: the common keys filled, a fresh
// trigger_id issued now (see ViewsOpen), and, when channel is not "", a response_url that answers in
// channel (originalTS, if set, is the message replace_original/delete_original act on).
func (s *Server) NewInteraction(typ, user, channel, originalTS string) Interaction {
	in := Interaction{
		Type: typ, Token: verificationToken, APIAppID: s.opts.AppID,
		Team:      InteractionTeam{ID: s.opts.TeamID, Domain: s.opts.TeamDomain},
		TriggerID: s.NewTriggerID(user),
		Fields:    map[string]any{},
	}
	s.mu.Lock()
	name := user
	if u, ok := s.users[user]; ok {
		name = u.Name
	}
	s.mu.Unlock()
	in.User = InteractionUser{ID: user, Username: name, Name: name, TeamID: s.opts.TeamID}
	if channel != "" {
		in.ResponseURL = s.newResponseURL(user, channel, originalTS)
	}
	return in
}

// NewTriggerID issues a trigger_id for user, valid for 3 seconds of the emulator's clock and once.
func (s *Server) NewTriggerID(user string) string {
	_, now := s.nextTS()
	id := strconv.FormatInt(now.Unix(), 10) + "." + strconv.FormatUint(s.seq.Add(1), 10) + "." + randomHex(16)
	s.mu.Lock()
	s.triggers[id] = &trigger{user: user, issued: now}
	s.mu.Unlock()
	return id
}

// useTriggerLocked spends a trigger_id as views.open does: "invalid_trigger_id" for one never
// issued, "expired_trigger_id" once 3 s have passed, "exchanged_trigger_id" when already used.
// Caller holds s.mu.
func (s *Server) useTriggerLocked(id string, now time.Time) (*trigger, string) {
	t, ok := s.triggers[id]
	switch {
	case id == "":
		return nil, "invalid_arguments"
	case !ok:
		return nil, "invalid_trigger_id"
	case now.Sub(t.issued) > triggerTTL:
		return nil, "expired_trigger_id"
	case t.used:
		return nil, "exchanged_trigger_id"
	}
	t.used = true
	return t, ""
}

// newResponseURL registers a response_url for user in channel and returns it.
func (s *Server) newResponseURL(user, channel, originalTS string) string {
	_, now := s.nextTS()
	id := randomHex(12)
	s.mu.Lock()
	chID := channel
	if ch := s.lookupLocked(channel); ch != nil {
		chID = ch.id
	}
	s.responses[id] = &responseURL{channel: chID, user: user, expires: now.Add(responseURLTTL), lastTS: originalTS}
	s.mu.Unlock()
	return s.baseURL() + "/response/" + s.opts.TeamID + "/" + id
}

// Interact sends an interactive envelope carrying in and waits for its ack. Slack lets the app
// answer in the ack only where a response is expected (view_submission's response_action): the
// envelope says so with accepts_response_payload. An ack after 3 s is an error, as Slack shows the
// person one.
func (s *Server) Interact(ctx context.Context, in Interaction) (Ack, error) {
	if s.baseURL() == "" {
		return Ack{}, ErrNotStarted
	}
	return s.sendInteraction(ctx, s.InteractiveEnvelope(in))
}

// sendInteraction sends an interactive envelope and awaits its ack: an error if it came after Slack's
// 3 s.
func (s *Server) sendInteraction(ctx context.Context, env Envelope) (Ack, error) {
	sent := time.Now()
	a, err := s.deliver(ctx, env)
	if err != nil {
		return Ack{}, err
	}
	if d := a.At.Sub(sent); d > interactiveAckDeadline {
		return a, fmt.Errorf("%w: acked after %v", ErrInteractionAckTimeout, d.Round(time.Millisecond))
	}
	return a, nil
}

// InteractiveEnvelope wraps in as Slack's Socket Mode does; sending the same payload in two
// envelopes is how a test stands for Slack delivering an interaction twice.
func (s *Server) InteractiveEnvelope(in Interaction) Envelope {
	b, _ := json.Marshal(in)
	return Envelope{Type: "interactive", Payload: json.RawMessage(b),
		AcceptsResponsePayload: in.Type == "view_submission" || in.Type == "block_suggestion"}
}

// ErrNoSuchButton is returned by Click for a button the message does not show.
var ErrNoSuchButton = errors.New("slackemu: no such button on the message")

// Button is a button element found on a message.
type Button struct {
	BlockID, ActionID, Value, Text string
}

type buttonJSON struct {
	Type     string `json:"type"`
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
	Text     struct {
		Type  string `json:"type"`
		Text  string `json:"text"`
		Emoji bool   `json:"emoji"`
	} `json:"text"`
	Style              string `json:"style,omitempty"`
	AccessibilityLabel string `json:"accessibility_label,omitempty"`
}

// Buttons lists the buttons of a message's actions blocks, in order.
func (s *Server) Buttons(channel, ts string) ([]Button, error) {
	m, ok := s.Message(channel, ts)
	if !ok {
		return nil, ErrMessageNotFound
	}
	return buttonsOf(m.Blocks), nil
}

func buttonsOf(raw json.RawMessage) []Button {
	var blocks []struct {
		Type     string       `json:"type"`
		BlockID  string       `json:"block_id"`
		Elements []buttonJSON `json:"elements"`
	}
	_ = json.Unmarshal(raw, &blocks)
	var out []Button
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			if e.Type == "button" {
				out = append(out, Button{BlockID: b.BlockID, ActionID: e.ActionID, Value: e.Value, Text: e.Text.Text})
			}
		}
	}
	return out
}

// ClickEnvelope builds the block_actions envelope Slack sends when user clicks the button with
// actionID on the message at channel/ts (a message the user can see: in the channel, or an
// ephemeral shown to them). It changes no state beyond issuing the trigger_id and response_url.
func (s *Server) ClickEnvelope(user, channel, ts, actionID string) (Envelope, error) {
	s.mu.Lock()
	ch := s.lookupLocked(channel)
	var m *message
	if ch != nil {
		m = ch.byTS[ts]
	}
	if m == nil || m.Deleted || (m.Ephemeral && m.ToUser != user) {
		s.mu.Unlock()
		return Envelope{}, ErrMessageNotFound
	}
	msg := s.messageJSONLocked(m, false)
	chID, chName, ephemeral := ch.id, ch.name, m.Ephemeral
	if ch.im {
		chName = "directmessage"
	}
	blocks := m.Blocks
	s.mu.Unlock()

	var btn *Button
	for _, b := range buttonsOf(blocks) {
		if b.ActionID == actionID {
			btn = &b
			break
		}
	}
	if btn == nil {
		return Envelope{}, fmt.Errorf("%w: %s", ErrNoSuchButton, actionID)
	}
	actionTS, _ := s.nextTS()
	in := s.NewInteraction("block_actions", user, chID, ts)
	in.Fields["container"] = map[string]any{"type": "message", "message_ts": ts, "channel_id": chID, "is_ephemeral": ephemeral}
	in.Fields["channel"] = map[string]any{"id": chID, "name": chName}
	if !ephemeral {
		// Slack leaves the message out for a click on an ephemeral message.
		in.Fields["message"] = msg
	}
	in.Fields["state"] = map[string]any{"values": map[string]any{}}
	in.Fields["actions"] = []map[string]any{{
		"type": "button", "action_id": btn.ActionID, "block_id": btn.BlockID, "value": btn.Value,
		"text": map[string]any{"type": "plain_text", "text": btn.Text, "emoji": true}, "action_ts": actionTS,
	}}
	return s.InteractiveEnvelope(in), nil
}

// Click is user clicking the button with actionID on the message at channel/ts: the block_actions
// envelope is sent and its ack awaited (an error if it came after 3 s).
func (s *Server) Click(ctx context.Context, user, channel, ts, actionID string) (Ack, error) {
	env, err := s.ClickEnvelope(user, channel, ts, actionID)
	if err != nil {
		return Ack{}, err
	}
	return s.sendInteraction(ctx, env)
}
