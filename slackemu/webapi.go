package slackemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Failure is an injected failure for one Web API method.
type Failure struct {
	Status     int           // HTTP status, e.g. 429 or 500; 0 means 200 with ok:false Error
	RetryAfter int           // seconds, sent as Retry-After with a 429
	Error      string        // Slack error code for an ok:false reply with HTTP 200
	Times      int           // how many calls fail; 0 means 1
	Delay      time.Duration // wait this long before answering (alone: a slow success)
	// LoseResponse carries the call out, then drops the connection instead of answering: the
	// request took effect but its response was lost on the way back.
	LoseResponse bool
	// Hold, if set, keeps each failing call waiting until it is closed (or the request ends), for a
	// test to act while the bot is inside that call. Alone it is a success that waits.
	Hold <-chan struct{}
	// Channel, if set, limits the failure to calls whose channel argument is this one; calls for
	// other channels go through and do not count towards Times (one poll rate-limited, not all).
	Channel string
}

// Fail makes the next Times calls of method (a Web API method name, or
// "response_url") fail as f describes. A later Fail for the same method
// replaces an earlier one.
func (s *Server) Fail(method string, f Failure) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.failures[method] = &f
	s.mu.Unlock()
}

type tokenKind int

const (
	tokNone tokenKind = iota
	tokInvalid
	tokBot
	tokApp
)

type call struct {
	method string
	p      url.Values
	tok    tokenKind
}

type apiResult map[string]any

type apiHandler func(s *Server, c *call) (apiResult, string)

var methods = map[string]apiHandler{
	"apps.connections.open":        (*Server).appsConnectionsOpen,
	"auth.test":                    (*Server).authTest,
	"chat.postMessage":             (*Server).chatPostMessage,
	"chat.postEphemeral":           (*Server).chatPostEphemeral,
	"chat.update":                  (*Server).chatUpdate,
	"chat.delete":                  (*Server).chatDelete,
	"chat.getPermalink":            (*Server).chatGetPermalink,
	"reactions.add":                (*Server).reactionsAdd,
	"reactions.remove":             (*Server).reactionsRemove,
	"reactions.get":                (*Server).reactionsGet,
	"conversations.open":           (*Server).conversationsOpen,
	"conversations.history":        (*Server).conversationsHistory,
	"conversations.info":           (*Server).conversationsInfo,
	"conversations.members":        (*Server).conversationsMembers,
	"users.info":                   (*Server).usersInfo,
	"users.list":                   (*Server).usersList,
	"views.open":                   (*Server).viewsOpen,
	"files.getUploadURLExternal":   (*Server).filesGetUploadURLExternal,
	"files.completeUploadExternal": (*Server).filesCompleteUploadExternal,
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func slackErr(code string) map[string]any { return map[string]any{"ok": false, "error": code} }

// injectFailure counts the call and applies any injected failure; it reports
// whether the request has been answered.
func (s *Server) injectFailure(w http.ResponseWriter, r *http.Request, method, channel string) (handled, lose bool) {
	s.mu.Lock()
	s.calls[method]++
	var f Failure
	if ff := s.failures[method]; ff != nil && (ff.Channel == "" || ff.Channel == channel) {
		f = *ff
		if ff.Times--; ff.Times <= 0 {
			delete(s.failures, method)
		}
	}
	s.mu.Unlock()
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-s.done:
		}
		t.Stop()
	}
	if f.Hold != nil {
		select {
		case <-f.Hold:
		case <-r.Context().Done():
		case <-s.done:
		}
	}
	switch {
	case f.Status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		writeJSON(w, f.Status, slackErr("ratelimited"))
		return true, false
	case f.Status != 0 && f.Status != http.StatusOK:
		// Slack's 5xx bodies are HTML, which clients must not parse.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, "<html><body>emulated failure</body></html>")
		return true, false
	case f.Error != "":
		writeJSON(w, http.StatusOK, slackErr(f.Error))
		return true, false
	}
	return false, f.LoseResponse
}

func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	p, perr := readParams(r)
	handled, lose := s.injectFailure(w, r, method, p.Get("channel"))
	if handled || s.overLimit(w, method, p.Get("channel")) {
		return
	}
	if lose {
		// Do the work, then abort the connection with no response written.
		defer panic(http.ErrAbortHandler)
		w = discardResponse{}
	}
	h, ok := methods[method]
	if !ok {
		writeJSON(w, http.StatusNotFound, slackErr("unknown_method"))
		return
	}
	if perr != nil {
		writeJSON(w, http.StatusOK, slackErr("invalid_form_data"))
		return
	}
	c := &call{method: method, p: p}

	bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok := bearer
	if method == "apps.connections.open" {
		// Slack: "you will need to pass this token in the HTTP Authorization
		// header of your request; passing it as a POST parameter will result in an error."
		if !hasBearer {
			tok = ""
		}
	} else if !hasBearer || tok == "" {
		tok = p.Get("token")
	}
	s.mu.Lock()
	revoked := s.revoked
	s.mu.Unlock()
	switch {
	case tok == "":
		c.tok = tokNone
	case revoked:
		c.tok = tokInvalid
	case tok == s.opts.BotToken:
		c.tok = tokBot
	case tok == s.opts.AppToken:
		c.tok = tokApp
	default:
		c.tok = tokInvalid
	}
	switch {
	case c.tok == tokNone:
		writeJSON(w, http.StatusOK, slackErr("not_authed"))
		return
	case c.tok == tokInvalid:
		writeJSON(w, http.StatusOK, slackErr("invalid_auth"))
		return
	case c.tok == tokApp && method != "apps.connections.open",
		c.tok == tokBot && method == "apps.connections.open":
		writeJSON(w, http.StatusOK, slackErr("not_allowed_token_type"))
		return
	}
	res, code := h(s, c)
	if code != "" {
		writeJSON(w, http.StatusOK, slackErr(code))
		return
	}
	if res == nil {
		res = apiResult{}
	}
	res["ok"] = true
	writeJSON(w, http.StatusOK, res)
}

// readParams merges the query string with a form, multipart or JSON body.
// JSON values that are not strings are kept as their JSON text, so that
// booleans read "true" and arrays/objects (blocks, metadata) read as JSON.
func readParams(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		v := r.URL.Query()
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return v, nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		for k, raw := range m {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				v.Set(k, str)
			} else if string(raw) != "null" {
				v.Set(k, string(raw))
			}
		}
		return v, nil
	case "multipart/form-data":
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return nil, err
		}
		return r.Form, nil
	default:
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.Form, nil
	}
}

func truthy(v string) bool { return v == "true" || v == "1" }

// --- auth, socket mode ---

func (s *Server) authTest(c *call) (apiResult, string) {
	return apiResult{
		"url":                   "https://" + s.opts.TeamDomain + ".slack.test/",
		"team":                  s.opts.TeamName,
		"user":                  s.opts.BotName,
		"team_id":               s.opts.TeamID,
		"user_id":               s.opts.BotUserID,
		"bot_id":                s.opts.BotID,
		"is_enterprise_install": false,
	}, ""
}

func (s *Server) appsConnectionsOpen(c *call) (apiResult, string) {
	ticket := randomHex(16)
	s.mu.Lock()
	s.tickets[ticket] = struct{}{}
	s.mu.Unlock()
	u := "ws" + strings.TrimPrefix(s.baseURL(), "http") + "/link?ticket=" + ticket + "&app_id=" + s.opts.AppID
	return apiResult{"url": u}, ""
}

// --- messages ---

type botProfile struct {
	ID      string `json:"id"`
	AppID   string `json:"app_id"`
	Name    string `json:"name"`
	Deleted bool   `json:"deleted"`
	TeamID  string `json:"team_id"`
}

type editedJSON struct {
	User string `json:"user"`
	TS   string `json:"ts"`
}

type reactionJSON struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Users []string `json:"users"`
}

type messageJSON struct {
	Type       string          `json:"type"`
	Subtype    string          `json:"subtype,omitempty"`
	Text       string          `json:"text"`
	User       string          `json:"user,omitempty"`
	BotID      string          `json:"bot_id,omitempty"`
	AppID      string          `json:"app_id,omitempty"`
	Team       string          `json:"team,omitempty"`
	BotProfile *botProfile     `json:"bot_profile,omitempty"`
	TS         string          `json:"ts"`
	ThreadTS   string          `json:"thread_ts,omitempty"`
	Blocks     json.RawMessage `json:"blocks,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	Edited     *editedJSON     `json:"edited,omitempty"`
	Reactions  []reactionJSON  `json:"reactions,omitempty"`
}

// messageJSONLocked renders m as Slack's message object. Caller holds s.mu.
func (s *Server) messageJSONLocked(m *message, withReactions bool) messageJSON {
	j := messageJSON{Type: "message", Text: m.Text, User: m.User, TS: m.TS, ThreadTS: m.ThreadTS, Blocks: m.Blocks, Metadata: m.Metadata}
	if m.BotID != "" {
		j.BotID, j.AppID, j.Team = m.BotID, s.opts.AppID, s.opts.TeamID
		j.BotProfile = &botProfile{ID: m.BotID, AppID: s.opts.AppID, Name: s.opts.BotName, TeamID: s.opts.TeamID}
	} else if m.User != "" {
		j.Team = s.opts.TeamID
	}
	if m.Edits > 0 {
		j.Edited = &editedJSON{User: m.User, TS: m.editedTS}
	}
	if withReactions {
		for _, r := range m.reactions {
			j.Reactions = append(j.Reactions, reactionJSON{Name: r.name, Count: len(r.users), Users: append([]string(nil), r.users...)})
		}
	}
	return j
}

// validBlocks applies Block Kit's limits that a bot can run into, for a message (at most 50 blocks).
func validBlocks(raw json.RawMessage) bool { return validBlockList(raw, 50) }

// validBlockList applies Block Kit's limits that a bot can run into: at most maxBlocks blocks (50 in
// a message, 100 in a modal or Home tab), header text at most 150 characters, section text at most
// 3000 and at most 10 fields of 2000, context at most 10 elements, block_id at most 255; an actions
// block holds 1 to 25 elements, a button's text at most 75 characters, its accessibility_label at
// most 75, its value at most 2000 and its action_id at most 255 and unique in its block
// (https://docs.slack.dev/reference/block-kit/blocks, …/block-elements/button-element).
func validBlockList(raw json.RawMessage, maxBlocks int) bool {
	type text struct {
		Text string `json:"text"`
	}
	type element struct {
		Type               string `json:"type"`
		Text               any    `json:"text"`
		ActionID           string `json:"action_id"`
		Value              string `json:"value"`
		AccessibilityLabel string `json:"accessibility_label"`
	}
	var blocks []struct {
		Type     string          `json:"type"`
		BlockID  string          `json:"block_id"`
		Text     *text           `json:"text"`
		Fields   []text          `json:"fields"`
		Elements json.RawMessage `json:"elements"`
	}
	if json.Unmarshal(raw, &blocks) != nil || len(blocks) > maxBlocks {
		return false
	}
	chars := utf8.RuneCountInString
	for _, b := range blocks {
		if b.Type == "" || chars(b.BlockID) > 255 {
			return false
		}
		var elements []json.RawMessage
		if len(b.Elements) > 0 && json.Unmarshal(b.Elements, &elements) != nil {
			return false
		}
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Text == "" || chars(b.Text.Text) > 150 {
				return false
			}
		case "section":
			if (b.Text == nil || b.Text.Text == "") && len(b.Fields) == 0 {
				return false
			}
			if b.Text != nil && chars(b.Text.Text) > 3000 || len(b.Fields) > 10 {
				return false
			}
			for _, f := range b.Fields {
				if chars(f.Text) > 2000 {
					return false
				}
			}
		case "context":
			if len(elements) == 0 || len(elements) > 10 {
				return false
			}
		case "actions":
			if len(elements) == 0 || len(elements) > 25 {
				return false
			}
			ids := map[string]bool{}
			for _, raw := range elements {
				var e element
				if json.Unmarshal(raw, &e) != nil || e.Type == "" || chars(e.ActionID) > 255 || (e.ActionID != "" && ids[e.ActionID]) {
					return false
				}
				ids[e.ActionID] = true
				if e.Type != "button" {
					continue
				}
				var t text
				if tb, err := json.Marshal(e.Text); err != nil || json.Unmarshal(tb, &t) != nil ||
					t.Text == "" || chars(t.Text) > 75 || chars(e.AccessibilityLabel) > 75 || chars(e.Value) > 2000 {
					return false
				}
			}
		}
	}
	return true
}

// content validates text, blocks and metadata the way chat.postMessage does.
func content(p url.Values, requireText bool) (text string, blocks, meta json.RawMessage, code string) {
	text = p.Get("text")
	if b := strings.TrimSpace(p.Get("blocks")); b != "" && b != "null" {
		if !validBlocks(json.RawMessage(b)) {
			return "", nil, nil, "invalid_blocks"
		}
		if b != "[]" {
			blocks = json.RawMessage(b)
		}
	}
	if m := strings.TrimSpace(p.Get("metadata")); m != "" && m != "null" {
		var obj struct {
			EventType string `json:"event_type"`
		}
		if json.Unmarshal([]byte(m), &obj) != nil {
			return "", nil, nil, "invalid_metadata_format"
		}
		if obj.EventType != "" {
			meta = json.RawMessage(m)
		}
	}
	if requireText && text == "" && blocks == nil && p.Get("attachments") == "" {
		return "", nil, nil, "no_text"
	}
	if utf8.RuneCountInString(text) > 40000 {
		return "", nil, nil, "msg_too_long"
	}
	return text, blocks, meta, ""
}

// postableLocked resolves a channel the bot wants to write to. Caller holds s.mu.
func (s *Server) postableLocked(arg string) (*channel, string) {
	ch, code := s.resolveLocked(arg, true)
	if code != "" {
		return nil, code
	}
	if !ch.im && !ch.members[s.opts.BotUserID] {
		return nil, "not_in_channel"
	}
	return ch, ""
}

func (s *Server) chatPostMessage(c *call) (apiResult, string) {
	text, blocks, meta, code := content(c.p, true)
	if code != "" {
		return nil, code
	}
	ts, _ := s.nextTS()
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, code := s.postableLocked(c.p.Get("channel"))
	if code != "" {
		return nil, code
	}
	m := &message{Message: Message{
		TS: ts, ThreadTS: c.p.Get("thread_ts"), User: s.opts.BotUserID, BotID: s.opts.BotID,
		Text: text, Blocks: blocks, Metadata: meta, Via: "chat.postMessage",
	}}
	s.addMessageLocked(ch, m)
	return apiResult{"channel": ch.id, "ts": ts, "message": s.messageJSONLocked(m, false)}, ""
}

func (s *Server) chatPostEphemeral(c *call) (apiResult, string) {
	text, blocks, _, code := content(c.p, true)
	if code != "" {
		return nil, code
	}
	user := c.p.Get("user")
	ts, _ := s.nextTS()
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, code := s.postableLocked(c.p.Get("channel"))
	if code != "" {
		return nil, code
	}
	u, ok := s.users[user]
	if !ok || u.Deleted {
		return nil, "user_not_found"
	}
	if !ch.isMember(user) {
		return nil, "user_not_in_channel"
	}
	m := &message{Message: Message{
		TS: ts, ThreadTS: c.p.Get("thread_ts"), User: s.opts.BotUserID, BotID: s.opts.BotID,
		Text: text, Blocks: blocks, Ephemeral: true, ToUser: user, Via: "chat.postEphemeral", ResponseType: "ephemeral",
	}}
	s.addMessageLocked(ch, m)
	return apiResult{"message_ts": ts}, ""
}

// ownMessageLocked finds a visible message the bot may edit. Caller holds s.mu.
func (s *Server) ownMessageLocked(p url.Values, tsKey, notOwn string) (*channel, *message, string) {
	ch, code := s.resolveLocked(p.Get("channel"), false)
	if code != "" {
		return nil, nil, code
	}
	m, ok := ch.byTS[p.Get(tsKey)]
	if !ok || m.Ephemeral || m.Deleted {
		return nil, nil, "message_not_found"
	}
	if m.User != s.opts.BotUserID {
		return nil, nil, notOwn
	}
	return ch, m, ""
}

func (s *Server) chatUpdate(c *call) (apiResult, string) {
	text, blocks, meta, code := content(c.p, false)
	if code != "" {
		return nil, code
	}
	editTS, _ := s.nextTS()
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, m, code := s.ownMessageLocked(c.p, "ts", "cant_update_message")
	if code != "" {
		return nil, code
	}
	if text == "" && blocks == nil && c.p.Get("blocks") == "" {
		return nil, "no_text"
	}
	m.Text = text
	if c.p.Has("blocks") {
		m.Blocks = blocks
	}
	if meta != nil {
		m.Metadata = meta
	}
	m.Edits++
	m.editedTS = editTS
	m.Via = "chat.update"
	s.publishLocked(m.Message)
	return apiResult{"channel": ch.id, "ts": m.TS, "text": m.Text, "message": s.messageJSONLocked(m, false)}, ""
}

func (s *Server) chatDelete(c *call) (apiResult, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, m, code := s.ownMessageLocked(c.p, "ts", "cant_delete_message")
	if code != "" {
		return nil, code
	}
	m.Deleted = true
	m.Via = "chat.delete"
	s.publishLocked(m.Message)
	return apiResult{"channel": ch.id, "ts": m.TS}, ""
}

func (s *Server) chatGetPermalink(c *call) (apiResult, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, code := s.resolveLocked(c.p.Get("channel"), false)
	if code != "" {
		return nil, code
	}
	m, ok := ch.byTS[c.p.Get("message_ts")]
	if !ok || m.Ephemeral || m.Deleted {
		return nil, "message_not_found"
	}
	link := "https://" + s.opts.TeamDomain + ".slack.test/archives/" + ch.id + "/p" + strings.Replace(m.TS, ".", "", 1)
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		link += "?thread_ts=" + m.ThreadTS + "&cid=" + ch.id
	}
	return apiResult{"channel": ch.id, "permalink": link}, ""
}

// --- reactions ---

// reactableLocked finds the message a reactions.* call names. Caller holds s.mu.
func (s *Server) reactableLocked(p url.Values) (*channel, *message, string) {
	if p.Get("channel") == "" && p.Get("timestamp") == "" && p.Get("file") == "" && p.Get("file_comment") == "" {
		return nil, nil, "no_item_specified"
	}
	if p.Get("channel") == "" || p.Get("timestamp") == "" {
		return nil, nil, "bad_timestamp"
	}
	ch, code := s.resolveLocked(p.Get("channel"), false)
	if code != "" {
		return nil, nil, code
	}
	m, ok := ch.byTS[p.Get("timestamp")]
	if !ok || m.Ephemeral || m.Deleted {
		return nil, nil, "message_not_found"
	}
	return ch, m, ""
}

func reactionName(p url.Values) string {
	return strings.Trim(p.Get("name"), ":")
}

func (s *Server) reactionsAdd(c *call) (apiResult, string) {
	return s.botReaction(c, true, "already_reacted")
}

func (s *Server) reactionsRemove(c *call) (apiResult, string) {
	return s.botReaction(c, false, "no_reaction")
}

// botReaction adds or removes the bot's own reaction; unchanged is the error when there is nothing to do.
func (s *Server) botReaction(c *call, present bool, unchanged string) (apiResult, string) {
	name := reactionName(c.p)
	if name == "" {
		return nil, "invalid_name"
	}
	s.mu.Lock()
	ch, m, code := s.reactableLocked(c.p)
	if code != "" {
		s.mu.Unlock()
		return nil, code
	}
	if !m.setReaction(s.opts.BotUserID, name, present) {
		s.mu.Unlock()
		return nil, unchanged
	}
	itemUser := m.User
	s.mu.Unlock()
	// Slack tells the app about its own reactions too.
	s.out.push(s.reactionEnvelope(s.opts.BotUserID, ch.id, m.TS, itemUser, name, present))
	return nil, ""
}

func (s *Server) reactionsGet(c *call) (apiResult, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, m, code := s.reactableLocked(c.p)
	if code != "" {
		return nil, code
	}
	return apiResult{"type": "message", "channel": ch.id, "message": s.messageJSONLocked(m, true)}, ""
}

// --- conversations ---

func (s *Server) conversationsOpen(c *call) (apiResult, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ch *channel
	fresh := false
	if id := c.p.Get("channel"); id != "" {
		existing, ok := s.channels[id]
		if !ok || !existing.im {
			return nil, "channel_not_found"
		}
		ch = existing
	} else {
		users := strings.Split(c.p.Get("users"), ",")
		if len(users) == 0 || users[0] == "" {
			return nil, "users_list_not_supplied"
		}
		if len(users) > 1 {
			// Multi-person DMs are not emulated.
			return nil, "not_implemented"
		}
		u, ok := s.users[users[0]]
		switch {
		case !ok:
			return nil, "user_not_found"
		case u.Deleted:
			return nil, "user_disabled"
		case u.ID == s.opts.BotUserID:
			return nil, "cannot_dm_bot"
		}
		ch, fresh = s.openIMLocked(u.ID)
	}
	res := apiResult{"channel": map[string]any{"id": ch.id}}
	if truthy(c.p.Get("return_im")) {
		res["channel"] = s.channelJSONLocked(ch)
	}
	if !fresh {
		res["no_op"] = true
		res["already_open"] = true
	}
	return res, ""
}

func (s *Server) channelJSONLocked(ch *channel) map[string]any {
	if ch.im {
		u := s.users[ch.imUser]
		return map[string]any{
			"id": ch.id, "created": ch.created.Unix(), "is_im": true, "is_org_shared": false,
			"user": ch.imUser, "is_user_deleted": u != nil && u.Deleted, "priority": 0,
		}
	}
	return map[string]any{
		"id": ch.id, "name": ch.name, "name_normalized": ch.name,
		"is_channel": !ch.private, "is_group": ch.private, "is_im": false, "is_mpim": false,
		"is_private": ch.private, "created": ch.created.Unix(), "is_archived": false, "is_general": false,
		"is_shared": false, "is_ext_shared": false, "is_org_shared": false,
		"is_member": ch.members[s.opts.BotUserID], "num_members": len(ch.members),
		"topic":   map[string]any{"value": "", "creator": "", "last_set": 0},
		"purpose": map[string]any{"value": "", "creator": "", "last_set": 0},
	}
}

func (s *Server) conversationsInfo(c *call) (apiResult, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[c.p.Get("channel")]
	if !ok || (ch.private && !ch.members[s.opts.BotUserID]) {
		return nil, "channel_not_found"
	}
	return apiResult{"channel": s.channelJSONLocked(ch)}, ""
}

// pageLimit is a paginated method's limit: 100 when absent or 0, at most 999.
func pageLimit(p url.Values) (int, string) {
	v := p.Get("limit")
	if v == "" {
		return 100, ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, "invalid_limit"
	}
	if n == 0 {
		return 100, ""
	}
	return min(n, 999), ""
}

// pageCursor is how many items earlier pages gave, from a cursor nextCursor(kind, n) made; 0 with no
// cursor.
func pageCursor(p url.Values, kind string) (int, string) {
	cur := p.Get("cursor")
	if cur == "" {
		return 0, ""
	}
	b, err := base64.StdEncoding.DecodeString(cur)
	n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), kind))
	if err != nil || err2 != nil || n < 0 {
		return 0, "invalid_cursor"
	}
	return n, ""
}

// nextCursor is the cursor for the page after the first n items.
func nextCursor(kind string, n int) string {
	return base64.StdEncoding.EncodeToString([]byte(kind + strconv.Itoa(n)))
}

// conversationsMembers lists a conversation's members a page at a time, in a stable order (Slack's
// is unspecified). A private channel the bot is not in does not exist for it, as in conversations.info.
func (s *Server) conversationsMembers(c *call) (apiResult, string) {
	limit, code := pageLimit(c.p)
	if code != "" {
		return nil, code
	}
	skip, code := pageCursor(c.p, "member:")
	if code != "" {
		return nil, code
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[c.p.Get("channel")]
	if !ok || (!ch.im && ch.private && !ch.members[s.opts.BotUserID]) {
		return nil, "channel_not_found"
	}
	var members []string
	if ch.im {
		members = []string{ch.imUser, s.opts.BotUserID}
	} else {
		for u := range ch.members {
			members = append(members, u)
		}
		slices.Sort(members)
	}
	members = members[min(skip, len(members)):]
	next := ""
	if len(members) > limit {
		members = members[:limit]
		next = nextCursor("member:", skip+limit)
	}
	return apiResult{"members": members, "response_metadata": map[string]any{"next_cursor": next}}, ""
}

func (s *Server) conversationsHistory(c *call) (apiResult, string) {
	p := c.p
	limit, code := pageLimit(p)
	if code != "" {
		return nil, code
	}
	oldest, latest := int64(0), int64(1)<<62
	if v := p.Get("oldest"); v != "" && v != "0" {
		o, ok := parseTS(v)
		if !ok {
			return nil, "invalid_ts_oldest"
		}
		oldest = o
	}
	if v := p.Get("latest"); v != "" && v != "0" {
		l, ok := parseTS(v)
		if !ok {
			return nil, "invalid_ts_latest"
		}
		latest = l
	}
	inclusive := truthy(p.Get("inclusive"))
	skip, code := pageCursor(p, "next:")
	if code != "" {
		return nil, code
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ch, code := s.resolveLocked(p.Get("channel"), false)
	if code != "" {
		return nil, code
	}
	if !ch.im && !ch.members[s.opts.BotUserID] {
		return nil, "not_in_channel"
	}
	var picked []*message
	for i := len(ch.msgs) - 1; i >= 0; i-- { // newest first
		m := ch.msgs[i]
		if m.Ephemeral || m.Deleted || (m.ThreadTS != "" && m.ThreadTS != m.TS) {
			continue
		}
		t, _ := parseTS(m.TS)
		if t < oldest || t > latest || (!inclusive && (t == oldest || t == latest)) {
			continue
		}
		picked = append(picked, m)
	}
	if skip > len(picked) {
		skip = len(picked)
	}
	picked = picked[skip:]
	hasMore := len(picked) > limit
	if hasMore {
		picked = picked[:limit]
	}
	withMeta := truthy(c.p.Get("include_all_metadata")) // Slack leaves metadata out unless asked
	out := make([]messageJSON, len(picked))
	for i, m := range picked {
		out[i] = s.messageJSONLocked(m, true)
		if !withMeta {
			out[i].Metadata = nil
		}
	}
	next := ""
	if hasMore {
		next = nextCursor("next:", skip+limit)
	}
	return apiResult{
		"messages": out, "has_more": hasMore, "pin_count": 0,
		"response_metadata": map[string]any{"next_cursor": next},
	}, ""
}

// --- users ---

func (s *Server) usersInfo(c *call) (apiResult, string) {
	s.mu.Lock()
	u, ok := s.users[c.p.Get("user")]
	var uc User
	if ok {
		uc = *u
	}
	s.mu.Unlock()
	if !ok {
		return nil, "user_not_found"
	}
	return apiResult{"user": s.userJSON(uc)}, ""
}

// usersList lists every user a page at a time (limit up to 1,000, as Slack allows), by id, with the
// same fields as users.info.
func (s *Server) usersList(c *call) (apiResult, string) {
	limit := 100
	if v := c.p.Get("limit"); v != "" && v != "0" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, "invalid_limit"
		}
		limit = min(n, 1000)
	}
	skip, code := pageCursor(c.p, "user:")
	if code != "" {
		return nil, code
	}
	s.mu.Lock()
	all := make([]User, 0, len(s.users))
	for _, u := range s.users {
		all = append(all, *u)
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b User) int { return strings.Compare(a.ID, b.ID) })
	all = all[min(skip, len(all)):]
	next := ""
	if len(all) > limit {
		all = all[:limit]
		next = nextCursor("user:", skip+limit)
	}
	members := make([]map[string]any, len(all))
	for i, u := range all {
		members[i] = s.userJSON(u)
	}
	return apiResult{"members": members, "cache_ts": s.Now().Unix(), "response_metadata": map[string]any{"next_cursor": next}}, ""
}

// userJSON is a user object as users.info and users.list give it.
func (s *Server) userJSON(uc User) map[string]any {
	tzLabel, tzOffset := uc.TZ, 0
	if loc, err := time.LoadLocation(uc.TZ); err == nil {
		name, off := s.Now().In(loc).Zone()
		tzLabel, tzOffset = name, off
	}
	display := uc.Name
	if uc.IsBot {
		display = ""
	}
	user := map[string]any{
		"id": uc.ID, "team_id": s.opts.TeamID, "name": uc.Name, "deleted": uc.Deleted,
		"real_name": uc.RealName, "tz": uc.TZ, "tz_label": tzLabel, "tz_offset": tzOffset,
		"is_admin": uc.IsAdmin, "is_owner": uc.IsOwner, "is_primary_owner": false,
		"is_restricted": false, "is_ultra_restricted": false, "is_bot": uc.IsBot, "is_app_user": false,
		"updated": s.Now().Unix(),
		"profile": map[string]any{
			"real_name": uc.RealName, "real_name_normalized": uc.RealName,
			"display_name": display, "display_name_normalized": display, "team": s.opts.TeamID,
		},
	}
	if uc.IsBot && uc.ID == s.opts.BotUserID {
		user["profile"].(map[string]any)["bot_id"] = s.opts.BotID
		user["profile"].(map[string]any)["api_app_id"] = s.opts.AppID
	}
	return user
}

// discardResponse swallows a response that LoseResponse will never send.
type discardResponse struct{}

func (discardResponse) Header() http.Header         { return http.Header{} }
func (discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (discardResponse) WriteHeader(int)             {}
