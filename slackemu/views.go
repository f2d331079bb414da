package slackemu

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Views: the Home tab each user sees (views.publish) and the modals open for each user (views.open,
// views.update), with the limits Slack documents for views
// (https://docs.slack.dev/reference/views, https://docs.slack.dev/reference/block-kit/blocks).

func init() {
	methods["views.publish"] = (*Server).viewsPublish
	methods["views.open"] = (*Server).viewsOpen
	methods["views.update"] = (*Server).viewsUpdate
}

// View is a Home tab or modal as the emulator holds it.
type View struct {
	ID, TeamID, Type, User string
	CallbackID             string
	PrivateMetadata        string
	ExternalID             string
	Hash                   string
	Title                  string // modals: the title's text
	Blocks                 json.RawMessage
	NotifyOnClose          bool
	// Closed is set once the modal was submitted (and not kept open) or closed.
	Closed bool
	// Raw is the view object as the app sent it.
	Raw json.RawMessage
	seq int
}

// viewLimits are Slack's view limits.
const (
	maxViewBlocks      = 100
	maxModalTitle      = 24
	maxPrivateMetadata = 3000
	maxViewBytes       = 250_000
)

// viewRequest is the view argument of views.publish, views.open and views.update.
type viewRequest struct {
	Type            string          `json:"type"`
	Title           *textObject     `json:"title"`
	Submit          *textObject     `json:"submit"`
	Close           *textObject     `json:"close"`
	Blocks          json.RawMessage `json:"blocks"`
	PrivateMetadata string          `json:"private_metadata"`
	CallbackID      string          `json:"callback_id"`
	ExternalID      string          `json:"external_id"`
	NotifyOnClose   bool            `json:"notify_on_close"`
}

type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// parseView reads and checks the view argument; want is the view type the method takes.
func parseView(raw, want string) (viewRequest, string) {
	var v viewRequest
	if raw == "" {
		return v, "invalid_arguments"
	}
	if len(raw) > maxViewBytes {
		return v, "view_too_large"
	}
	if json.Unmarshal([]byte(raw), &v) != nil || v.Type != want {
		return v, "invalid_arguments"
	}
	chars := utf8.RuneCountInString
	if chars(v.PrivateMetadata) > maxPrivateMetadata || chars(v.CallbackID) > 255 || chars(v.ExternalID) > 255 {
		return v, "invalid_arguments"
	}
	if want == "modal" {
		if v.Title == nil || v.Title.Text == "" || chars(v.Title.Text) > maxModalTitle || v.Title.Type != "plain_text" {
			return v, "invalid_arguments"
		}
		for _, t := range []*textObject{v.Submit, v.Close} {
			if t != nil && (t.Text == "" || chars(t.Text) > maxModalTitle || t.Type != "plain_text") {
				return v, "invalid_arguments"
			}
		}
	}
	hasInput, ok := validViewBlocks(v.Blocks)
	if !ok {
		return v, "invalid_arguments"
	}
	if want == "home" && hasInput {
		return v, "invalid_arguments" // input blocks live in modals
	}
	if want == "modal" && hasInput && v.Submit == nil {
		return v, "invalid_arguments" // Slack: submit is required when a modal has input blocks
	}
	return v, ""
}

// element is a block element or accessory, as far as the limits go.
type element struct {
	Type               string      `json:"type"`
	ActionID           string      `json:"action_id"`
	Text               *textObject `json:"text"`
	Value              string      `json:"value"`
	AccessibilityLabel string      `json:"accessibility_label"`
	URL                string      `json:"url"`
}

// validViewBlocks applies the limits a view's blocks must keep: at most 100 blocks; header 150,
// section 3,000 characters (10 fields of 2,000); context 10 elements; actions 25 elements; buttons'
// text 75, value 2,000, accessibility_label 75; action_id and block_id 255 and unique. It says
// whether the view has an input block.
func validViewBlocks(raw json.RawMessage) (hasInput, ok bool) {
	var blocks []struct {
		Type      string            `json:"type"`
		BlockID   string            `json:"block_id"`
		Text      *textObject       `json:"text"`
		Fields    []textObject      `json:"fields"`
		Elements  []json.RawMessage `json:"elements"` // a context's elements are text objects
		Element   *element          `json:"element"`
		Accessory *element          `json:"accessory"`
		Label     *textObject       `json:"label"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &blocks) != nil || len(blocks) > maxViewBlocks {
		return false, false
	}
	chars := utf8.RuneCountInString
	blockIDs := map[string]bool{}
	actionIDs := map[string]bool{}
	checkElement := func(e *element) bool {
		if e == nil {
			return true
		}
		if e.Type == "" || chars(e.ActionID) > 255 || e.ActionID != "" && actionIDs[e.ActionID] {
			return false
		}
		if e.ActionID != "" {
			actionIDs[e.ActionID] = true
		}
		if e.Type == "button" {
			if e.Text == nil || e.Text.Text == "" || chars(e.Text.Text) > 75 || chars(e.Value) > 2000 || chars(e.AccessibilityLabel) > 75 {
				return false
			}
		}
		return true
	}
	for _, b := range blocks {
		if b.Type == "" || chars(b.BlockID) > 255 || b.BlockID != "" && blockIDs[b.BlockID] {
			return false, false
		}
		if b.BlockID != "" {
			blockIDs[b.BlockID] = true
		}
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Text == "" || chars(b.Text.Text) > 150 {
				return false, false
			}
		case "section":
			if (b.Text == nil || b.Text.Text == "") && len(b.Fields) == 0 {
				return false, false
			}
			if b.Text != nil && chars(b.Text.Text) > 3000 || len(b.Fields) > 10 {
				return false, false
			}
			for _, f := range b.Fields {
				if chars(f.Text) > 2000 {
					return false, false
				}
			}
			if !checkElement(b.Accessory) {
				return false, false
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > 10 {
				return false, false
			}
		case "actions":
			if len(b.Elements) == 0 || len(b.Elements) > 25 {
				return false, false
			}
			for _, raw := range b.Elements {
				var e element
				if json.Unmarshal(raw, &e) != nil || !checkElement(&e) {
					return false, false
				}
			}
		case "input":
			hasInput = true
			if b.Label == nil || b.Label.Text == "" || chars(b.Label.Text) > 2000 || b.Element == nil || !checkElement(b.Element) {
				return false, false
			}
		}
		// Action ids need only be unique within a block.
		clear(actionIDs)
	}
	return hasInput, true
}

// newViewLocked stores a new view built from req. Caller holds s.mu.
func (s *Server) newViewLocked(req viewRequest, raw, user string) *View {
	n := s.seq.Add(1)
	v := &View{ID: fmt.Sprintf("V0EMU%06d", n), TeamID: s.opts.TeamID, User: user, seq: int(n)}
	s.setViewLocked(v, req, raw)
	s.views[v.ID] = v
	return v
}

// setViewLocked replaces v's content with req and gives it a new hash. Caller holds s.mu.
func (s *Server) setViewLocked(v *View, req viewRequest, raw string) {
	v.Raw = json.RawMessage(raw)
	v.Type, v.CallbackID, v.PrivateMetadata, v.ExternalID = req.Type, req.CallbackID, req.PrivateMetadata, req.ExternalID
	v.Blocks, v.NotifyOnClose = append(json.RawMessage(nil), req.Blocks...), req.NotifyOnClose
	v.Title = ""
	if req.Title != nil {
		v.Title = req.Title.Text
	}
	v.Hash = strconv.FormatInt(s.Now().Unix(), 10) + "." + randomHex(8)
}

// viewJSONLocked is a view as the views.* methods and interactive payloads show it: what the app
// sent, with the ids, hash and state Slack adds.
func (s *Server) viewJSONLocked(v *View) map[string]any {
	var j map[string]any
	_ = json.Unmarshal(v.Raw, &j)
	if j == nil {
		j = map[string]any{}
	}
	j["id"], j["team_id"], j["app_id"], j["bot_id"] = v.ID, s.opts.TeamID, s.opts.AppID, s.opts.BotID
	j["root_view_id"], j["hash"] = v.ID, v.Hash
	j["state"] = map[string]any{"values": map[string]any{}}
	for _, k := range []string{"callback_id", "private_metadata", "external_id"} {
		if _, ok := j[k]; !ok {
			j[k] = ""
		}
	}
	return j
}

// homeLocked is user's Home view, if the app published one. Caller holds s.mu.
func (s *Server) homeLocked(user string) *View {
	for _, v := range s.views {
		if v.Type == "home" && v.User == user {
			return v
		}
	}
	return nil
}

func (s *Server) viewsPublish(c *call) (apiResult, string) {
	user := c.p.Get("user_id")
	if user == "" {
		return nil, "invalid_arguments"
	}
	raw := c.p.Get("view")
	req, code := parseView(raw, "home")
	if code != "" {
		return nil, code
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[user]; !ok || u.Deleted {
		return nil, "user_not_found"
	}
	v := s.homeLocked(user)
	if hash := c.p.Get("hash"); hash != "" && v != nil && hash != v.Hash {
		return nil, "hash_conflict"
	}
	if v != nil {
		s.setViewLocked(v, req, raw)
	} else {
		v = s.newViewLocked(req, raw, user)
	}
	s.published = append(s.published, user)
	return apiResult{"view": s.viewJSONLocked(v)}, ""
}

// Published lists whose Home each successful views.publish was, oldest first.
func (s *Server) Published() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.published)
}

func (s *Server) viewsOpen(c *call) (apiResult, string) {
	raw := c.p.Get("view")
	req, code := parseView(raw, "modal")
	if code != "" {
		return nil, code
	}
	_, now := s.nextTS()
	s.mu.Lock()
	defer s.mu.Unlock()
	tid := c.p.Get("trigger_id")
	if tid == "" {
		tid = c.p.Get("interactivity_pointer")
	}
	t, code := s.useTriggerLocked(tid, now)
	if code != "" {
		return nil, code
	}
	v := s.newViewLocked(req, raw, t.user)
	return apiResult{"view": s.viewJSONLocked(v)}, ""
}

func (s *Server) viewsUpdate(c *call) (apiResult, string) {
	id, ext := c.p.Get("view_id"), c.p.Get("external_id")
	if id == "" && ext == "" {
		return nil, "invalid_arguments"
	}
	raw := c.p.Get("view")
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.views[id]
	if id == "" {
		for _, w := range s.views {
			if w.ExternalID == ext {
				v = w
			}
		}
	}
	if v == nil {
		return nil, "not_found"
	}
	req, code := parseView(raw, v.Type)
	if code != "" {
		return nil, code
	}
	if hash := c.p.Get("hash"); hash != "" && hash != v.Hash {
		return nil, "hash_conflict"
	}
	s.setViewLocked(v, req, raw)
	return apiResult{"view": s.viewJSONLocked(v)}, ""
}

// HomeView is the Home tab the app last published for user.
func (s *Server) HomeView(user string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.homeLocked(user); v != nil {
		return *v, true
	}
	return View{}, false
}

// Views lists the modals opened for user, oldest first, closed ones included.
func (s *Server) Views(user string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, v := range s.views {
		if v.User == user && v.Type == "modal" {
			out = append(out, *v)
		}
	}
	slices.SortFunc(out, func(a, b View) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// OpenModal is the newest of user's modals that is still open.
func (s *Server) OpenModal(user string) (View, bool) {
	vs := s.Views(user)
	for i := len(vs) - 1; i >= 0; i-- {
		if !vs[i].Closed {
			return vs[i], true
		}
	}
	return View{}, false
}

// CloseView marks a modal closed (submitted and cleared, or closed by the person).
func (s *Server) CloseView(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.views[id]; ok {
		v.Closed = true
	}
}

// appHomeOpened is the app_home_opened event (https://docs.slack.dev/reference/events/app_home_opened).
type appHomeOpened struct {
	Type    string         `json:"type"`
	User    string         `json:"user"`
	Channel string         `json:"channel"`
	Tab     string         `json:"tab"`
	EventTS string         `json:"event_ts"`
	View    map[string]any `json:"view,omitempty"`
}

// OpenHome is user clicking into the app's Home tab: app_home_opened with tab "home" (and the
// Home's current view, once one was published) is sent and its ack awaited. The channel is the
// user's DM with the app, opened if need be, as Slack does.
func (s *Server) OpenHome(ctx context.Context, user string) (Ack, error) {
	s.mu.Lock()
	if u, ok := s.users[user]; !ok || u.Deleted || user == s.opts.BotUserID {
		s.mu.Unlock()
		return Ack{}, fmt.Errorf("slackemu: no user %s", user)
	}
	im, _ := s.openIMLocked(user)
	ev := appHomeOpened{Type: "app_home_opened", User: user, Channel: im.id, Tab: "home"}
	if v := s.homeLocked(user); v != nil {
		ev.View = s.viewJSONLocked(v)
	}
	s.mu.Unlock()
	eventTS, now := s.nextTS()
	ev.EventTS = eventTS
	return s.deliver(ctx, s.eventCallbackAt(ev, now))
}

// Input is one input block of a modal: what the person is asked to fill in.
type Input struct {
	BlockID, ActionID string
	Type              string // the element's type: plain_text_input, datepicker, conversations_select, …
	Label             string
	Optional          bool
}

// Inputs lists a view's input blocks in order.
func (v View) Inputs() []Input {
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Optional bool   `json:"optional"`
		Label    *struct {
			Text string `json:"text"`
		} `json:"label"`
		Element *struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
		} `json:"element"`
	}
	_ = json.Unmarshal(v.Blocks, &blocks)
	var out []Input
	for _, b := range blocks {
		if b.Type != "input" || b.Element == nil {
			continue
		}
		in := Input{BlockID: b.BlockID, ActionID: b.Element.ActionID, Type: b.Element.Type, Optional: b.Optional}
		if b.Label != nil {
			in.Label = b.Label.Text
		}
		out = append(out, in)
	}
	return out
}

// StateValue is one input's value in a view_submission's view.state.values, shaped by its element
// type as Slack sends it: plain_text_input → value, datepicker → selected_date,
// conversations_select → selected_conversation, channels_select → selected_channel,
// users_select → selected_user, static_select → selected_option.
func StateValue(typ, value string) map[string]any {
	v := map[string]any{"type": typ}
	switch typ {
	case "datepicker":
		v["selected_date"] = nilIfEmpty(value)
	case "conversations_select":
		v["selected_conversation"] = nilIfEmpty(value)
	case "channels_select":
		v["selected_channel"] = nilIfEmpty(value)
	case "users_select":
		v["selected_user"] = nilIfEmpty(value)
	case "static_select":
		if value == "" {
			v["selected_option"] = nil
		} else {
			v["selected_option"] = map[string]any{"value": value, "text": map[string]any{"type": "plain_text", "text": value}}
		}
	default:
		v["value"] = nilIfEmpty(value)
	}
	return v
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ViewResponse is what the app answered a view_submission with in its ack.
type ViewResponse struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors"`
}

// ErrBadViewResponse is returned by SubmitView when the ack's response_action is one Slack refuses
// (errors naming a block that is not an input block of the view, say): Slack shows the person a
// generic error then.
var ErrBadViewResponse = errors.New("slackemu: view_submission response refused")

// SubmitView is user pressing Submit on modal viewID with values (action_id → value, as typed; see
// StateValue). The view_submission interaction is sent and its ack read as Slack reads it:
// response_action "errors" keeps the modal open with the errors shown on their fields (returned),
// "update" and "push" keep it open, and an empty ack or "clear" closes it.
func (s *Server) SubmitView(ctx context.Context, user, viewID string, values map[string]string) (ViewResponse, error) {
	s.mu.Lock()
	v, ok := s.views[viewID]
	if !ok || v.User != user || v.Closed || v.Type != "modal" {
		s.mu.Unlock()
		return ViewResponse{}, fmt.Errorf("slackemu: %s has no open modal %s", user, viewID)
	}
	view := s.viewJSONLocked(v)
	inputs := v.Inputs()
	s.mu.Unlock()
	state := map[string]any{}
	for _, in := range inputs {
		val, ok := values[in.ActionID]
		if !ok && !in.Optional {
			val = ""
		}
		state[in.BlockID] = map[string]any{in.ActionID: StateValue(in.Type, val)}
	}
	view["state"] = map[string]any{"values": state}
	in := s.NewInteraction("view_submission", user, "", "")
	in.Fields["view"] = view
	in.Fields["response_urls"] = []any{}
	ack, err := s.Interact(ctx, in)
	if err != nil {
		return ViewResponse{}, err
	}
	var r ViewResponse
	if p := strings.TrimSpace(string(ack.Payload)); p != "" && p != "null" {
		if err := json.Unmarshal(ack.Payload, &r); err != nil {
			return r, fmt.Errorf("%w: %v", ErrBadViewResponse, err)
		}
	}
	switch r.ResponseAction {
	case "", "clear":
		s.CloseView(viewID)
	case "errors":
		blocks := map[string]bool{}
		for _, in := range inputs {
			blocks[in.BlockID] = true
		}
		for id := range r.Errors {
			if !blocks[id] {
				return r, fmt.Errorf("%w: errors name %q, which is not an input block of the view", ErrBadViewResponse, id)
			}
		}
	case "update", "push":
	default:
		return r, fmt.Errorf("%w: response_action %q", ErrBadViewResponse, r.ResponseAction)
	}
	return r, nil
}

// CloseModal is user closing modal viewID with its Cancel button or ×: the modal is closed and, if
// the app asked for it with notify_on_close, a view_closed interaction is sent and its ack awaited.
func (s *Server) CloseModal(ctx context.Context, user, viewID string) error {
	s.mu.Lock()
	v, ok := s.views[viewID]
	if !ok || v.User != user || v.Closed {
		s.mu.Unlock()
		return fmt.Errorf("slackemu: %s has no open modal %s", user, viewID)
	}
	v.Closed = true
	notify, view := v.NotifyOnClose, s.viewJSONLocked(v)
	s.mu.Unlock()
	if !notify {
		return nil
	}
	in := s.NewInteraction("view_closed", user, "", "")
	in.TriggerID = "" // view_closed carries none
	in.Fields["view"] = view
	in.Fields["is_cleared"] = false
	_, err := s.Interact(ctx, in)
	return err
}

// Shortcut is user running the app's global shortcut callbackID (from the composer's shortcuts
// menu or the search bar): a shortcut interaction with a fresh trigger_id, its ack awaited.
func (s *Server) Shortcut(ctx context.Context, user, callbackID string) (Ack, error) {
	in := s.NewInteraction("shortcut", user, "", "")
	in.Fields["callback_id"] = callbackID
	in.Fields["action_ts"], _ = s.nextTS()
	return s.Interact(ctx, in)
}

// Buttons lists a view's buttons, in actions blocks and as section accessories, in order.
func (v View) Buttons() []Button {
	var blocks []struct {
		Type      string          `json:"type"`
		BlockID   string          `json:"block_id"`
		Elements  json.RawMessage `json:"elements"`
		Accessory *buttonJSON     `json:"accessory"`
	}
	_ = json.Unmarshal(v.Blocks, &blocks)
	var out []Button
	for _, b := range blocks {
		var els []buttonJSON
		if b.Type == "actions" {
			_ = json.Unmarshal(b.Elements, &els)
		}
		if b.Accessory != nil {
			els = append(els, *b.Accessory)
		}
		for _, e := range els {
			if e.Type == "button" {
				out = append(out, Button{BlockID: b.BlockID, ActionID: e.ActionID, Value: e.Value, Text: e.Text.Text})
			}
		}
	}
	return out
}

// ClickView is user pressing a button on their Home tab (or their open modal when the Home has no
// such button): the block_actions interaction Slack sends for a view, with container type "view",
// the view, and a trigger_id but no response_url. actionID names the button; when several share it
// (a Details button per section), value picks one ("" for the first).
func (s *Server) ClickView(ctx context.Context, user, actionID string, value ...string) (Ack, error) {
	s.mu.Lock()
	var views []*View
	if h := s.homeLocked(user); h != nil {
		views = append(views, h)
	}
	s.mu.Unlock()
	if m, ok := s.OpenModal(user); ok {
		s.mu.Lock()
		views = append(views, s.views[m.ID])
		s.mu.Unlock()
	}
	for _, v := range views {
		for _, btn := range v.Buttons() {
			if btn.ActionID != actionID || len(value) > 0 && value[0] != "" && btn.Value != value[0] {
				continue
			}
			actionTS, _ := s.nextTS()
			in := s.NewInteraction("block_actions", user, "", "")
			s.mu.Lock()
			view := s.viewJSONLocked(v)
			s.mu.Unlock()
			in.Fields["container"] = map[string]any{"type": "view", "view_id": v.ID}
			in.Fields["view"] = view
			in.Fields["actions"] = []map[string]any{{
				"type": "button", "action_id": btn.ActionID, "block_id": btn.BlockID, "value": btn.Value,
				"text": map[string]any{"type": "plain_text", "text": btn.Text, "emoji": true}, "action_ts": actionTS,
			}}
			return s.Interact(ctx, in)
		}
	}
	return Ack{}, fmt.Errorf("%w: %s", ErrNoSuchButton, actionID)
}
