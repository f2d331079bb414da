package slackemu

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// User is a workspace member as users.info reports it.
type User struct {
	ID, Name, RealName, TZ           string
	IsAdmin, IsOwner, IsBot, Deleted bool
}

// Channel is a conversation the world knows about. The bot is a member only
// if BotUserID is in Members. Private channels the bot is not in are
// invisible to it (channel_not_found), as in Slack.
type Channel struct {
	ID, Name string
	Members  []string
	Private  bool
}

// Message is the emulator's record of one message, for inspection.
type Message struct {
	Channel, TS, ThreadTS, User, BotID, Text string
	Blocks                                   json.RawMessage
	Metadata                                 json.RawMessage
	Ephemeral                                bool
	ToUser                                   string // ephemeral target
	Edits                                    int
	Deleted                                  bool
	// Via is how the message was last written: "chat.postMessage",
	// "chat.postEphemeral", "chat.update", "chat.delete", "response_url",
	// or "ack" (a slash command ack payload, which Slack posts as a reply).
	Via          string
	ResponseType string
	// Files are the ids of the files the message shares (files.completeUploadExternal).
	Files []string
}

type channel struct {
	id, name string
	private  bool
	im       bool
	imUser   string
	created  time.Time
	members  map[string]bool
	msgs     []*message
	byTS     map[string]*message
}

type message struct {
	Message
	editedTS  string
	reactions []*reaction // in order first added
}

type reaction struct {
	name  string
	users []string // in order added
}

func (c *channel) isMember(user string) bool {
	if c.im {
		return user == c.imUser
	}
	return c.members[user]
}

// AddUser adds or replaces a user.
func (s *Server) AddUser(u User) {
	if u.TZ == "" {
		u.TZ = "UTC"
	}
	s.mu.Lock()
	s.users[u.ID] = &u
	s.mu.Unlock()
}

// AddChannel adds a channel, or updates the name, privacy and members of an
// existing one (its messages are kept).
func (s *Server) AddChannel(c Channel) {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[c.ID]
	if !ok {
		ch = &channel{id: c.ID, created: now, byTS: map[string]*message{}}
		s.channels[c.ID] = ch
		s.chanOrder = append(s.chanOrder, c.ID)
	}
	ch.name, ch.private = c.Name, c.Private
	ch.members = make(map[string]bool, len(c.Members))
	for _, m := range c.Members {
		ch.members[m] = true
	}
}

// SetMember adds or removes user (which may be the bot) from channel.
func (s *Server) SetMember(channel, user string, member bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[channel]
	if !ok || ch.im {
		return
	}
	if member {
		ch.members[user] = true
	} else {
		delete(ch.members, user)
	}
}

// IMChannel is the D... id conversations.open gave for user, "" if none yet.
func (s *Server) IMChannel(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ims[user]
}

// openIMLocked returns the user's IM with the bot, creating it. Caller holds s.mu.
func (s *Server) openIMLocked(user string) (*channel, bool) {
	if id, ok := s.ims[user]; ok {
		return s.channels[id], false
	}
	s.imSeq++
	id := fmt.Sprintf("D0EMU%04d", s.imSeq)
	ch := &channel{id: id, im: true, imUser: user, created: s.Now(), byTS: map[string]*message{}}
	s.channels[id] = ch
	s.chanOrder = append(s.chanOrder, id)
	s.ims[user] = id
	return ch, true
}

// resolveLocked finds the conversation a channel argument names: a channel
// id, an IM id, a user id (their IM with the bot, opened on demand), or a
// channel name with or without '#'. Caller holds s.mu.
func (s *Server) resolveLocked(arg string, openIM bool) (*channel, string) {
	if arg == "" {
		return nil, "channel_not_found"
	}
	if ch, ok := s.channels[arg]; ok {
		if ch.private && !ch.members[s.opts.BotUserID] {
			return nil, "channel_not_found"
		}
		return ch, ""
	}
	if u, ok := s.users[arg]; ok {
		if u.ID == s.opts.BotUserID {
			return nil, "cannot_dm_bot"
		}
		if u.Deleted {
			return nil, "channel_not_found"
		}
		if id, ok := s.ims[arg]; ok {
			return s.channels[id], ""
		}
		if !openIM {
			return nil, "channel_not_found"
		}
		ch, _ := s.openIMLocked(arg)
		return ch, ""
	}
	name := strings.TrimPrefix(arg, "#")
	for _, id := range s.chanOrder {
		ch := s.channels[id]
		if !ch.im && ch.name == name && (!ch.private || ch.members[s.opts.BotUserID]) {
			return ch, ""
		}
	}
	return nil, "channel_not_found"
}

// Messages is a channel's history in posting order, ephemerals and deleted
// messages included. channel may also be a user id, meaning their IM.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupLocked(channel)
	if ch == nil {
		return nil
	}
	out := make([]Message, len(ch.msgs))
	for i, m := range ch.msgs {
		out[i] = m.Message
	}
	return out
}

// Message returns one message by channel (or user id, for their IM) and ts.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupLocked(channel)
	if ch == nil {
		return Message{}, false
	}
	m, ok := ch.byTS[ts]
	if !ok {
		return Message{}, false
	}
	return m.Message, true
}

func (s *Server) lookupLocked(channel string) *channel {
	if ch, ok := s.channels[channel]; ok {
		return ch
	}
	if id, ok := s.ims[channel]; ok {
		return s.channels[id]
	}
	return nil
}

// Reactions returns reaction name -> users (in the order they reacted).
func (s *Server) Reactions(channel, ts string) map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupLocked(channel)
	if ch == nil {
		return nil
	}
	m, ok := ch.byTS[ts]
	if !ok {
		return nil
	}
	out := make(map[string][]string, len(m.reactions))
	for _, r := range m.reactions {
		out[r.name] = slices.Clone(r.users)
	}
	return out
}

// SetReactionQuietly changes reaction state with no event, simulating a
// change made while the bot was offline. Unknown messages are ignored.
func (s *Server) SetReactionQuietly(user, channel, ts, name string, present bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupLocked(channel)
	if ch == nil {
		return
	}
	if m, ok := ch.byTS[ts]; ok {
		m.setReaction(user, name, present)
	}
}

// setReaction reports whether anything changed.
func (m *message) setReaction(user, name string, present bool) bool {
	i := slices.IndexFunc(m.reactions, func(r *reaction) bool { return r.name == name })
	if present {
		if i < 0 {
			m.reactions = append(m.reactions, &reaction{name: name, users: []string{user}})
			return true
		}
		if slices.Contains(m.reactions[i].users, user) {
			return false
		}
		m.reactions[i].users = append(m.reactions[i].users, user)
		return true
	}
	if i < 0 {
		return false
	}
	r := m.reactions[i]
	j := slices.Index(r.users, user)
	if j < 0 {
		return false
	}
	r.users = slices.Delete(r.users, j, j+1)
	if len(r.users) == 0 {
		m.reactions = slices.Delete(m.reactions, i, i+1)
	}
	return true
}

// addMessageLocked appends m to ch and tells subscribers. Caller holds s.mu.
func (s *Server) addMessageLocked(ch *channel, m *message) {
	m.Channel = ch.id
	ch.msgs = append(ch.msgs, m)
	ch.byTS[m.TS] = m
	s.publishLocked(m.Message)
}

// Calls is how many Web API calls method has received, failed ones included.
// response_url posts count under "response_url".
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Subscribe returns a channel that receives every message as it is posted,
// updated, deleted or sent as an ephemeral / response_url / ack reply, and a
// cancel func. Delivery never blocks the server: each subscriber has an
// unbounded queue drained by its own goroutine, so a slow reader only costs
// memory. The channel is closed after cancel or Close.
func (s *Server) Subscribe() (<-chan Message, func()) {
	sub := &subscriber{out: make(chan Message, 64), wake: make(chan struct{}, 1), stop: make(chan struct{})}
	if !s.enter() {
		close(sub.out)
		return sub.out, func() {}
	}
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		sub.run(s.done)
	}()
	cancel := func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
		sub.once.Do(func() { close(sub.stop) })
	}
	return sub.out, cancel
}

// publishLocked queues m for every subscriber. Caller holds s.mu.
func (s *Server) publishLocked(m Message) {
	for sub := range s.subs {
		sub.push(m)
	}
}

// PostAsUser records a message user wrote in channel (a channel id, or a
// user id for their IM with the bot) and returns its ts. No event is sent:
// the emulated app subscribes to no message events.
func (s *Server) PostAsUser(user, channel, text string) (string, error) {
	ts, _ := s.nextTS()
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupLocked(channel)
	if ch == nil {
		if _, ok := s.users[channel]; !ok {
			return "", fmt.Errorf("slackemu: no channel %s", channel)
		}
		ch, _ = s.openIMLocked(channel)
	}
	s.addMessageLocked(ch, &message{Message: Message{TS: ts, User: user, Text: text, Via: "user"}})
	return ts, nil
}
