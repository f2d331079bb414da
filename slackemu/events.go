package slackemu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// verificationToken stands in for the (deprecated) verification token Slack
// still puts in every payload.
const verificationToken = "emulatorVerificationToken"

type authorization struct {
	EnterpriseID        *string `json:"enterprise_id"`
	TeamID              string  `json:"team_id"`
	UserID              string  `json:"user_id"`
	IsBot               bool    `json:"is_bot"`
	IsEnterpriseInstall bool    `json:"is_enterprise_install"`
}

type eventCallback struct {
	Token              string          `json:"token"`
	TeamID             string          `json:"team_id"`
	ContextTeamID      string          `json:"context_team_id"`
	APIAppID           string          `json:"api_app_id"`
	Event              any             `json:"event"`
	Type               string          `json:"type"`
	EventID            string          `json:"event_id"`
	EventTime          int64           `json:"event_time"`
	Authorizations     []authorization `json:"authorizations"`
	IsExtSharedChannel bool            `json:"is_ext_shared_channel"`
	EventContext       string          `json:"event_context"`
}

type reactionItem struct {
	Type    string `json:"type"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

type reactionEvent struct {
	Type     string       `json:"type"`
	User     string       `json:"user"`
	Reaction string       `json:"reaction"`
	ItemUser string       `json:"item_user,omitempty"`
	Item     reactionItem `json:"item"`
	EventTS  string       `json:"event_ts"`
}

// newEventID returns a unique "Ev..." id.
func (s *Server) newEventID() string {
	return "Ev0" + s.evPrefix + strings.ToUpper(strconv.FormatUint(s.seq.Add(1), 36))
}

// EventCallback wraps an inner event the way the Events API does
// (type event_callback, event_id, event_time, authorizations, ...) and
// returns the events_api envelope carrying it. The payload is encoded now.
func (s *Server) EventCallback(event any) Envelope {
	_, now := s.nextTS()
	return s.eventCallbackAt(event, now)
}

func (s *Server) eventCallbackAt(event any, now time.Time) Envelope {
	cb := eventCallback{
		Token: verificationToken, TeamID: s.opts.TeamID, ContextTeamID: s.opts.TeamID, APIAppID: s.opts.AppID,
		Event: event, Type: "event_callback", EventID: s.newEventID(), EventTime: now.Unix(),
		Authorizations: []authorization{{TeamID: s.opts.TeamID, UserID: s.opts.BotUserID, IsBot: true}},
		EventContext:   "4-emulator",
	}
	b, _ := json.Marshal(cb)
	return Envelope{Type: "events_api", Payload: json.RawMessage(b)}
}

// ReactionEvent builds the events_api envelope Slack sends for a
// reaction_added (added) or reaction_removed event. It changes no state;
// item_user is the message's author if the message is known.
func (s *Server) ReactionEvent(user, channel, ts, name string, added bool) Envelope {
	s.mu.Lock()
	itemUser := ""
	if ch := s.lookupLocked(channel); ch != nil {
		channel = ch.id
		if m, ok := ch.byTS[ts]; ok {
			itemUser = m.User
		}
	}
	s.mu.Unlock()
	return s.reactionEnvelope(user, channel, ts, itemUser, name, added)
}

func (s *Server) reactionEnvelope(user, channel, ts, itemUser, name string, added bool) Envelope {
	eventTS, now := s.nextTS()
	typ := "reaction_removed"
	if added {
		typ = "reaction_added"
	}
	return s.eventCallbackAt(reactionEvent{
		Type: typ, User: user, Reaction: name, ItemUser: itemUser,
		Item: reactionItem{Type: "message", Channel: channel, TS: ts}, EventTS: eventTS,
	}, now)
}

// AddReaction is a user adding a reaction in the Slack client: the state
// changes and reaction_added is sent, then the ack is awaited. If the user
// had already reacted it is a no-op, as in Slack, and the zero Ack is
// returned with no event sent. The state change stays even if sending fails.
func (s *Server) AddReaction(ctx context.Context, user, channel, ts, name string) (Ack, error) {
	return s.react(ctx, user, channel, ts, name, true)
}

// RemoveReaction is AddReaction's opposite (reaction_removed).
func (s *Server) RemoveReaction(ctx context.Context, user, channel, ts, name string) (Ack, error) {
	return s.react(ctx, user, channel, ts, name, false)
}

func (s *Server) react(ctx context.Context, user, channel, ts, name string, added bool) (Ack, error) {
	name = strings.Trim(name, ":")
	s.mu.Lock()
	ch := s.lookupLocked(channel)
	var m *message
	if ch != nil {
		m = ch.byTS[ts]
	}
	if m == nil || m.Ephemeral || m.Deleted {
		s.mu.Unlock()
		return Ack{}, ErrMessageNotFound
	}
	changed := m.setReaction(user, name, added)
	itemUser := m.User
	s.mu.Unlock()
	if !changed {
		return Ack{}, nil
	}
	return s.deliver(ctx, s.reactionEnvelope(user, ch.id, ts, itemUser, name, added))
}

// memberEvent is member_joined_channel or member_left_channel
// (https://docs.slack.dev/reference/events/member_joined_channel).
type memberEvent struct {
	Type        string `json:"type"`
	User        string `json:"user"`
	Channel     string `json:"channel"`
	ChannelType string `json:"channel_type"` // C public, G private
	Team        string `json:"team"`
	EventTS     string `json:"event_ts"`
}

// Join is user joining (member) or leaving channel in the Slack client: the membership changes and
// member_joined_channel or member_left_channel is sent, as Slack does to a bot in the channel, then
// the ack is awaited. Nothing is sent if user was already (or was not) a member.
func (s *Server) Join(ctx context.Context, channel, user string, member bool) (Ack, error) {
	s.mu.Lock()
	ch := s.lookupLocked(channel)
	if ch == nil || ch.im {
		s.mu.Unlock()
		return Ack{}, fmt.Errorf("slackemu: no channel %s", channel)
	}
	if ch.members[user] == member {
		s.mu.Unlock()
		return Ack{}, nil
	}
	if member {
		ch.members[user] = true
	} else {
		delete(ch.members, user)
	}
	ev := memberEvent{Type: "member_left_channel", User: user, Channel: ch.id, ChannelType: "C", Team: s.opts.TeamID}
	if member {
		ev.Type = "member_joined_channel"
	}
	if ch.private {
		ev.ChannelType = "G"
	}
	s.mu.Unlock()
	eventTS, now := s.nextTS()
	ev.EventTS = eventTS
	return s.deliver(ctx, s.eventCallbackAt(ev, now))
}

// slashPayload is a slash_commands payload as Slack sends it over Socket
// Mode; note is_enterprise_install is the string "false", as Slack sends it.
type slashPayload struct {
	Token               string `json:"token"`
	TeamID              string `json:"team_id"`
	TeamDomain          string `json:"team_domain"`
	ChannelID           string `json:"channel_id"`
	ChannelName         string `json:"channel_name"`
	UserID              string `json:"user_id"`
	UserName            string `json:"user_name"`
	Command             string `json:"command"`
	Text                string `json:"text"`
	APIAppID            string `json:"api_app_id"`
	IsEnterpriseInstall string `json:"is_enterprise_install"`
	ResponseURL         string `json:"response_url"`
	TriggerID           string `json:"trigger_id"`
}

// responseURL is the state behind one response_url.
type responseURL struct {
	channel, user string
	expires       time.Time
	uses          int
	lastTS        string // the message the last reply created, for replace/delete_original
}

// response_url limits, from Slack's slash command docs: up to 5 replies
// within 30 minutes.
const (
	responseURLUses = 5
	responseURLTTL  = 30 * time.Minute
)

// SlashCommand is a user running command (e.g. "/internbot") with text in
// channel (a channel id, or an IM id / user id for a DM with the bot). It
// sends a slash_commands envelope with accepts_response_payload, a working
// response_url and a trigger_id, and waits for the ack. A non-empty ack
// payload is recorded as the reply Slack would show (Via "ack").
func (s *Server) SlashCommand(ctx context.Context, user, channel, command, text string) (Ack, error) {
	base := s.baseURL()
	if base == "" {
		return Ack{}, ErrNotStarted
	}
	_, now := s.nextTS()
	s.mu.Lock()
	chID, chName := channel, ""
	ch := s.lookupLocked(channel)
	if _, isUser := s.users[channel]; ch == nil && isUser && channel != s.opts.BotUserID {
		ch, _ = s.openIMLocked(channel) // a command typed in the DM with the bot
	}
	if ch != nil {
		chID = ch.id
		switch {
		case ch.im:
			chName = "directmessage"
		case ch.private:
			chName = "privategroup"
		default:
			chName = ch.name
		}
	}
	userName := user
	if u, ok := s.users[user]; ok {
		userName = u.Name
	}
	id := randomHex(12)
	s.responses[id] = &responseURL{channel: chID, user: user, expires: now.Add(responseURLTTL)}
	s.mu.Unlock()

	e := Envelope{
		Type:                   "slash_commands",
		AcceptsResponsePayload: true,
		Payload: slashPayload{
			Token: verificationToken, TeamID: s.opts.TeamID, TeamDomain: s.opts.TeamDomain,
			ChannelID: chID, ChannelName: chName, UserID: user, UserName: userName,
			Command: command, Text: text, APIAppID: s.opts.AppID, IsEnterpriseInstall: "false",
			ResponseURL: base + "/response/" + s.opts.TeamID + "/" + id,
			TriggerID:   s.NewTriggerID(user), // good for one views.open within 3 s
		},
	}
	sent := time.Now()
	p, err := s.Send(ctx, e)
	if err != nil {
		return Ack{}, err
	}
	a, err := p.Wait(ctx)
	if err != nil {
		return Ack{}, err
	}
	if d := a.At.Sub(sent); d > slashAckDeadline {
		// Slack has already shown the person an error; the late reply goes nowhere.
		return a, fmt.Errorf("%w: acked after %v", ErrAckTimeout, d.Round(time.Millisecond))
	}
	if len(a.Payload) > 0 && string(a.Payload) != "null" {
		r, err := s.replyMemo.decode(a.Payload)
		if err != nil {
			return a, fmt.Errorf("%w: %v", ErrRejectedReply, err)
		}
		if _, err := s.reply(id, r, "ack"); err != nil && !errors.Is(err, errNoText) {
			return a, fmt.Errorf("%w: %v", ErrRejectedReply, err)
		}
	}
	return a, nil
}

// slashAckDeadline is how long Slack waits for a slash command's ack.
const slashAckDeadline = 3 * time.Second

// Errors from SlashCommand for an ack Slack would not accept.
var (
	ErrAckTimeout    = errors.New("slash command not acked within 3 seconds")
	ErrRejectedReply = errors.New("slash command reply rejected")
)

type responseBody struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	Metadata        json.RawMessage `json:"metadata"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal bool            `json:"replace_original"`
	DeleteOriginal  bool            `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

var (
	errUsedURL       = errors.New("used_url")
	errExpiredURL    = errors.New("expired_url")
	errNoText        = errors.New("no_text")
	errUnknownURL    = errors.New("invalid_url")
	errInvalidBlocks = errors.New("invalid_blocks")
)

// reply applies one response_url (or ack payload) reply.
func (s *Server) reply(id string, r responseBody, via string) (Message, error) {
	blocks := r.Blocks
	if b := strings.TrimSpace(string(blocks)); b == "" || b == "null" || b == "[]" {
		blocks = nil
	}
	meta := r.Metadata
	var mt struct {
		EventType string `json:"event_type"`
	}
	if len(meta) == 0 || json.Unmarshal(meta, &mt) != nil || mt.EventType == "" {
		meta = nil
	}
	ts, now := s.nextTS()
	s.mu.Lock()
	defer s.mu.Unlock()
	ru, ok := s.responses[id]
	switch {
	case !ok:
		return Message{}, errUnknownURL
	case now.After(ru.expires):
		return Message{}, errExpiredURL
	case ru.uses >= responseURLUses:
		return Message{}, errUsedURL
	}
	ch := s.lookupLocked(ru.channel)
	if ch == nil {
		// A command from a conversation the emulator does not model: keep
		// the reply somewhere inspectable.
		ch = &channel{id: ru.channel, created: now, members: map[string]bool{}, byTS: map[string]*message{}}
		s.channels[ru.channel] = ch
		s.chanOrder = append(s.chanOrder, ru.channel)
	}
	var orig *message
	if ru.lastTS != "" {
		orig = ch.byTS[ru.lastTS]
	}
	if r.DeleteOriginal {
		ru.uses++
		if orig != nil && !orig.Deleted {
			orig.Deleted = true
			orig.Via = via
			s.publishLocked(orig.Message)
			return orig.Message, nil
		}
		return Message{}, nil
	}
	if r.Text == "" && blocks == nil {
		return Message{}, errNoText
	}
	if blocks != nil && !s.replyMemo.validBlocks(blocks) {
		return Message{}, errInvalidBlocks
	}
	if via != "ack" { // the ack's reply is not one of the response_url's uses
		ru.uses++
	}
	if r.ReplaceOriginal && orig != nil && !orig.Deleted {
		orig.Text, orig.Blocks, orig.Edits, orig.editedTS, orig.Via = r.Text, blocks, orig.Edits+1, ts, via
		if meta != nil {
			orig.Metadata = meta
		}
		if r.ResponseType != "" {
			orig.ResponseType = r.ResponseType
			orig.Ephemeral = r.ResponseType != "in_channel"
		}
		s.publishLocked(orig.Message)
		return orig.Message, nil
	}
	rt := r.ResponseType
	if rt == "" {
		rt = "ephemeral"
	}
	m := &message{Message: Message{
		TS: ts, ThreadTS: r.ThreadTS, User: s.opts.BotUserID, BotID: s.opts.BotID, Text: r.Text,
		Blocks: blocks, Metadata: meta, Via: via, ResponseType: rt,
	}}
	if rt != "in_channel" {
		m.Ephemeral, m.ToUser = true, ru.user
	}
	ru.lastTS = ts
	s.addMessageLocked(ch, m)
	return m.Message, nil
}

// handleResponseURL serves /response/<team>/<id>: a JSON reply to a slash command.
func (s *Server) handleResponseURL(w http.ResponseWriter, r *http.Request) {
	if handled, _ := s.injectFailure(w, r, "response_url", ""); handled {
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, slackErr("invalid_method"))
		return
	}
	id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	var body responseBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, slackErr("invalid_payload"))
		return
	}
	if _, err := s.reply(id, body, "response_url"); err != nil {
		status := http.StatusNotFound
		if errors.Is(err, errNoText) || errors.Is(err, errInvalidBlocks) {
			status = http.StatusBadRequest
		}
		writeJSON(w, status, slackErr(err.Error()))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// replyMemo remembers how reply payloads already seen decoded and whether their blocks passed
// validBlocks: both depend only on the bytes, and a load test sends the same reply thousands of
// times, where checking it each time made the emulator, not the app, what was measured.
type replyMemo struct {
	mu     sync.Mutex
	bodies map[string]memoBody
	blocks map[string]bool
}

type memoBody struct {
	r   responseBody
	err error
}

// maxMemoReplies bounds each of replyMemo's maps; once full, new payloads are checked every time.
const maxMemoReplies = 64

func (m *replyMemo) decode(payload []byte) (responseBody, error) {
	m.mu.Lock()
	b, ok := m.bodies[string(payload)]
	m.mu.Unlock()
	if ok {
		return b.r, b.err
	}
	b.err = json.Unmarshal(payload, &b.r)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bodies == nil {
		m.bodies = make(map[string]memoBody)
	}
	if len(m.bodies) < maxMemoReplies {
		m.bodies[string(payload)] = b
	}
	return b.r, b.err
}

func (m *replyMemo) validBlocks(raw json.RawMessage) bool {
	m.mu.Lock()
	ok, seen := m.blocks[string(raw)]
	m.mu.Unlock()
	if seen {
		return ok
	}
	ok = validBlocks(raw)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.blocks == nil {
		m.blocks = make(map[string]bool)
	}
	if len(m.blocks) < maxMemoReplies {
		m.blocks[string(raw)] = ok
	}
	return ok
}

// ack reads data as json.Unmarshal would read it into an ackMsg, without scanning it twice, when it
// is exactly {"envelope_id":"ID","payload":P} with a plain ASCII ID and a P that decoded as a reply
// before (so is valid JSON); ok is false otherwise.
func (m *replyMemo) ack(data []byte) (ackMsg, bool) {
	const pre, mid = `{"envelope_id":"`, `","payload":`
	if !bytes.HasPrefix(data, []byte(pre)) || len(data) == 0 || data[len(data)-1] != '}' {
		return ackMsg{}, false
	}
	rest := data[len(pre) : len(data)-1]
	i := bytes.IndexByte(rest, '"')
	if i <= 0 || !bytes.HasPrefix(rest[i:], []byte(mid)) {
		return ackMsg{}, false
	}
	for _, c := range rest[:i] {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return ackMsg{}, false
		}
	}
	payload := rest[i+len(mid):]
	m.mu.Lock()
	b, seen := m.bodies[string(payload)]
	m.mu.Unlock()
	if !seen || b.err != nil {
		return ackMsg{}, false
	}
	return ackMsg{EnvelopeID: string(rest[:i]), Payload: bytes.Clone(payload)}, true
}
