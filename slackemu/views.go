package slackemu

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
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
	return apiResult{"view": s.viewJSONLocked(v)}, ""
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
	p, err := s.Send(ctx, s.eventCallbackAt(ev, now))
	if err != nil {
		return Ack{}, err
	}
	return p.Wait(ctx)
}
