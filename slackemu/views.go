package slackemu

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// View is a modal the emulator has shown (views.open), for inspection.
type View struct {
	ID, User, Type, CallbackID, PrivateMetadata string
	Title                                       string
	Blocks                                      json.RawMessage
	// Raw is the view object as the app sent it.
	Raw json.RawMessage
}

type viewArg struct {
	Type            string                 `json:"type"`
	Title           *struct{ Text string } `json:"title"`
	Blocks          json.RawMessage        `json:"blocks"`
	CallbackID      string                 `json:"callback_id"`
	PrivateMetadata string                 `json:"private_metadata"`
	ExternalID      string                 `json:"external_id"`
}

// parseView checks a view argument the way views.* do: a modal needs a title of at most 24
// characters; blocks at most 100, each within Block Kit's limits; private_metadata at most 3000
// characters, callback_id at most 255.
func parseView(raw string, wantType string) (viewArg, string) {
	var v viewArg
	if strings.TrimSpace(raw) == "" {
		return v, "invalid_arguments"
	}
	if json.Unmarshal([]byte(raw), &v) != nil {
		return v, "invalid_arguments"
	}
	if wantType != "" && v.Type != wantType {
		return v, "invalid_arguments"
	}
	if v.Type == "modal" && (v.Title == nil || v.Title.Text == "" || utf8.RuneCountInString(v.Title.Text) > 24) {
		return v, "invalid_arguments"
	}
	if len(v.Blocks) == 0 || !validBlockList(v.Blocks, 100) {
		return v, "invalid_arguments"
	}
	if utf8.RuneCountInString(v.PrivateMetadata) > 3000 || utf8.RuneCountInString(v.CallbackID) > 255 {
		return v, "invalid_arguments"
	}
	return v, ""
}

func (s *Server) viewJSONLocked(v *View) map[string]any {
	var raw map[string]any
	_ = json.Unmarshal(v.Raw, &raw)
	if raw == nil {
		raw = map[string]any{}
	}
	raw["id"], raw["team_id"], raw["app_id"], raw["bot_id"] = v.ID, s.opts.TeamID, s.opts.AppID, s.opts.BotID
	raw["root_view_id"], raw["hash"] = v.ID, strconv.FormatUint(s.seq.Add(1), 10)+"."+randomHex(4)
	raw["state"] = map[string]any{"values": map[string]any{}}
	if _, ok := raw["callback_id"]; !ok {
		raw["callback_id"] = ""
	}
	if _, ok := raw["private_metadata"]; !ok {
		raw["private_metadata"] = ""
	}
	return raw
}

// viewsOpen opens a modal for the person whose interaction issued trigger_id; the trigger is spent
// and good for 3 seconds only (expired_trigger_id after that).
func (s *Server) viewsOpen(c *call) (apiResult, string) {
	v, code := parseView(c.p.Get("view"), "modal")
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
	view := &View{ID: "V0" + strings.ToUpper(strconv.FormatUint(s.seq.Add(1), 36)), User: t.user, Type: v.Type,
		CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, Title: v.Title.Text, Blocks: v.Blocks,
		Raw: json.RawMessage(c.p.Get("view"))}
	s.views[view.ID] = view
	return apiResult{"view": s.viewJSONLocked(view)}, ""
}

// Views lists the modals opened for user, oldest first.
func (s *Server) Views(user string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, v := range s.views {
		if v.User == user {
			out = append(out, *v)
		}
	}
	sortViews(out)
	return out
}

func sortViews(vs []View) {
	key := func(id string) uint64 {
		n, _ := strconv.ParseUint(strings.ToLower(strings.TrimPrefix(id, "V0")), 36, 64)
		return n
	}
	slices.SortFunc(vs, func(a, b View) int { return cmp.Compare(key(a.ID), key(b.ID)) })
}
