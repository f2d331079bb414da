package bot

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// fastReaction is what the bot reads from a reaction_added or reaction_removed envelope: the fields
// onEventsAPI takes from slack-go's parse, and nothing else.
type fastReaction struct {
	envelopeID   string
	retryAttempt int
	slackReaction
}

// fact is the reaction as onReaction takes it, with the request its ack needs.
func (r fastReaction) fact(received time.Time) reactionFact {
	req := &socketmode.Request{Type: socketmode.RequestTypeEventsAPI, EnvelopeID: r.envelopeID, RetryAttempt: r.retryAttempt}
	return reactionFact{req: req, received: received, slackReaction: r.slackReaction}
}

// decodeReactionEnvelope reads a Socket Mode frame in one pass if it is an events_api envelope carrying
// a reaction_added or reaction_removed event. ok is false for anything else, and for anything it is
// not sure slack-go would read the same way; the caller then gives the frame to slack-go's parse.
//
// slack-go decodes the frame six times into typed structs (socketmode.Request, then the outer event
// twice, then the inner event twice), so a frame it accepts is one where every key that matches one of
// those structs' fields — case-insensitively, last duplicate winning — holds a value of the field's
// type. This decoder says yes only when that is plainly so: every such key spelled exactly as slack-go
// spells it, at most once, plain ASCII, and of the right JSON type. Keys no struct has are skipped
// after checking they are valid JSON. FuzzFastDecodeAgrees holds it to slack-go's answer.
func decodeReactionEnvelope(frame []byte) (fastReaction, bool) {
	// One copy of the frame; every field is a substring of it unless it has escapes.
	d := fastDecoder{s: string(frame)}
	if !d.object(d.frameKey) {
		return fastReaction{}, false
	}
	d.ws()
	if d.i != len(d.s) || !d.frameSeen.has(fkType) || !d.frameSeen.has(fkPayload) ||
		!d.payloadSeen.has(pkType) || !d.payloadSeen.has(pkEvent) || !d.eventSeen.has(ekType) {
		return fastReaction{}, false
	}
	return d.r, true
}

// fastSlash is a slash_commands envelope: its ack's fields and the command, as slack-go reads it.
type fastSlash struct {
	envelopeID   string
	retryAttempt int
	cmd          slack.SlashCommand
}

// request is the envelope's request, as the ack and the handlers take it.
func (s fastSlash) request() *socketmode.Request {
	return &socketmode.Request{Type: socketmode.RequestTypeSlashCommands, EnvelopeID: s.envelopeID, RetryAttempt: s.retryAttempt}
}

// decodeSlashEnvelope reads a slash_commands envelope in one pass, by the same rules as
// decodeReactionEnvelope: ok is false for anything else and for anything slack-go might read
// differently (slack-go decodes the frame into socketmode.Request, then the payload into
// slack.SlashCommand, whose UnmarshalJSON takes is_enterprise_install as a bool or a string
// strconv.ParseBool reads). FuzzFastDecodeAgrees holds it to slack-go's answer.
func decodeSlashEnvelope(frame []byte) (fastSlash, bool) {
	d := fastDecoder{s: string(frame), slash: true}
	if !d.object(d.frameKey) {
		return fastSlash{}, false
	}
	d.ws()
	if d.i != len(d.s) || !d.frameSeen.has(fkType) || !d.frameSeen.has(fkPayload) {
		return fastSlash{}, false
	}
	return fastSlash{envelopeID: d.r.envelopeID, retryAttempt: d.r.retryAttempt, cmd: d.sc}, true
}

// maxDepth bounds nesting in skipped values; encoding/json's own limit is far higher, so anything
// deeper than this is left to slack-go.
const maxDepth = 64

type fastDecoder struct {
	s     string
	i     int
	depth int
	r     fastReaction
	// slash: the frame must be a slash_commands envelope, read into sc, instead of a reaction.
	slash bool
	sc    slack.SlashCommand

	frameSeen, payloadSeen, eventSeen, itemSeen, slashSeen seen
}

// seen is the set of known keys already met in one object, to refuse duplicates.
type seen uint32

func (s seen) has(k int) bool { return s&(1<<k) != 0 }

// first records k and reports whether it is new.
func (s *seen) first(k int) bool {
	if s.has(k) {
		return false
	}
	*s |= 1 << k
	return true
}

// The keys of each object slack-go decodes into structs: the union of the JSON names of the fields of
// every struct that object goes into (a field with no tag is matched by its Go name).
var (
	// socketmode.Request
	frameKeys = []string{"type", "envelope_id", "payload", "accepts_response_payload", "retry_attempt", "retry_reason",
		"num_connections", "connection_info", "reason", "debug_info"}
	// slackevents.EventsAPIEvent and EventsAPICallbackEvent
	payloadKeys = []string{"type", "token", "team_id", "api_app_id", "enterprise_id", "is_ext_shared_channel", "event",
		"authed_users", "authed_teams", "event_id", "event_time", "event_context", "authorizations", "Data", "InnerEvent"}
	// slack.EventAuthorization
	authKeys = []string{"enterprise_id", "team_id", "user_id", "is_bot", "is_enterprise_install"}
	// slack.Event and slackevents.ReactionAddedEvent (ReactionRemovedEvent is the same struct)
	eventKeys = []string{"type", "user", "reaction", "item_user", "item", "event_ts"}
	// slackevents.Item
	itemKeys = []string{"type", "channel", "ts", "message", "file", "comment"}
	// slack.SlashCommand (is_enterprise_install is read by its UnmarshalJSON)
	slashKeys = []string{"token", "team_id", "team_domain", "enterprise_id", "enterprise_name", "is_enterprise_install",
		"channel_id", "channel_name", "user_id", "user_name", "command", "text", "response_url", "trigger_id", "api_app_id"}
)

// Indexes into the tables above.
const (
	fkType = iota
	fkEnvelopeID
	fkPayload
	fkAccepts
	fkRetryAttempt
	fkRetryReason
)

const (
	pkType = iota
	pkToken
	pkTeamID
	pkAppID
	pkEnterpriseID
	pkExtShared
	pkEvent
	pkAuthedUsers
	pkAuthedTeams
	pkEventID
	pkEventTime
	pkEventContext
	pkAuthorizations
)

const (
	ekType = iota
	ekUser
	ekReaction
	ekItemUser
	ekItem
	ekEventTS
)

const (
	ikType = iota
	ikChannel
	ikTS
)

// knownKey finds key in keys. found is false if no field matches; ok is false if a field matches only
// case-insensitively, or the key is not plain ASCII (encoding/json folds a few non-ASCII letters, such
// as the Kelvin sign, to ASCII ones): either way slack-go might read it where this decoder would not.
func knownKey(keys []string, key string) (idx int, found, ok bool) {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return 0, false, false
		}
	}
	for i, k := range keys {
		if k == key {
			return i, true, true
		}
	}
	for _, k := range keys {
		if len(k) == len(key) && strings.EqualFold(k, key) {
			return 0, true, false
		}
	}
	return 0, false, true
}

func (d *fastDecoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// object reads an object, calling member with each key (raw, without quotes and unescaped only if it
// had no escapes) with the decoder positioned at the value. A nil member skips every value.
func (d *fastDecoder) object(member func(key string) bool) bool {
	d.ws()
	if d.i >= len(d.s) || d.s[d.i] != '{' {
		return false
	}
	d.depth++
	if d.depth > maxDepth {
		return false
	}
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		d.depth--
		return true
	}
	for {
		d.ws()
		start, end, esc, ok := d.stringToken()
		if !ok {
			return false
		}
		d.ws()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return false
		}
		d.i++
		d.ws()
		if member == nil {
			if !d.skip() {
				return false
			}
		} else {
			if esc { // a key with escapes may spell a known one
				return false
			}
			if !member(d.s[start+1 : end-1]) {
				return false
			}
		}
		d.ws()
		if d.i >= len(d.s) {
			return false
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			d.depth--
			return true
		default:
			return false
		}
	}
}

func (d *fastDecoder) frameKey(key string) bool {
	k, found, ok := knownKey(frameKeys, key)
	switch {
	case !ok:
		return false
	case !found:
		return d.skip()
	case !d.frameSeen.first(k):
		return false
	}
	switch k {
	case fkType:
		v, ok := d.str()
		if d.slash {
			return ok && v == socketmode.RequestTypeSlashCommands
		}
		return ok && v == socketmode.RequestTypeEventsAPI
	case fkEnvelopeID:
		v, ok := d.str()
		d.r.envelopeID = v
		return ok
	case fkPayload:
		if d.slash {
			return d.object(d.slashKey)
		}
		return d.object(d.payloadKey)
	case fkAccepts:
		return d.boolean()
	case fkRetryAttempt:
		n, ok := d.integer()
		d.r.retryAttempt = n
		return ok
	case fkRetryReason:
		_, ok := d.str()
		return ok
	}
	return false // hello and disconnect fields: not a reaction envelope
}

func (d *fastDecoder) payloadKey(key string) bool {
	k, found, ok := knownKey(payloadKeys, key)
	switch {
	case !ok:
		return false
	case !found:
		return d.skip()
	case !d.payloadSeen.first(k):
		return false
	}
	switch k {
	case pkType:
		v, ok := d.str()
		return ok && v == "event_callback"
	case pkToken, pkTeamID, pkAppID, pkEnterpriseID, pkEventContext:
		_, ok := d.str()
		return ok
	case pkExtShared:
		return d.boolean()
	case pkEvent:
		return d.object(d.eventKey)
	case pkAuthedUsers, pkAuthedTeams:
		return d.array(func() bool { _, ok := d.str(); return ok })
	case pkEventID:
		v, ok := d.str()
		d.r.eventID = v
		return ok
	case pkEventTime:
		_, ok := d.integer()
		return ok
	case pkAuthorizations:
		return d.array(func() bool {
			if d.null() {
				return true
			}
			var auth seen
			return d.object(func(key string) bool { return d.authKey(&auth, key) })
		})
	}
	return false // Data, InnerEvent: slack-go would read them into fields a real envelope never fills
}

func (d *fastDecoder) authKey(auth *seen, key string) bool {
	k, found, ok := knownKey(authKeys, key)
	switch {
	case !ok:
		return false
	case !found:
		return d.skip()
	case !auth.first(k):
		return false
	}
	if authKeys[k] == "is_bot" || authKeys[k] == "is_enterprise_install" {
		return d.boolean()
	}
	_, ok = d.str()
	return ok
}

func (d *fastDecoder) eventKey(key string) bool {
	k, found, ok := knownKey(eventKeys, key)
	switch {
	case !ok:
		return false
	case !found:
		return d.skip()
	case !d.eventSeen.first(k):
		return false
	}
	var v string
	switch k {
	case ekType:
		v, ok = d.str()
		switch v {
		case "reaction_added":
			d.r.added = true
		case "reaction_removed":
		default:
			return false
		}
	case ekUser:
		d.r.user, ok = d.str()
	case ekReaction:
		d.r.reaction, ok = d.str()
	case ekItemUser:
		_, ok = d.str()
	case ekItem:
		if d.null() {
			return true
		}
		ok = d.object(d.itemKey)
	case ekEventTS:
		d.r.eventTS, ok = d.str()
	}
	return ok
}

func (d *fastDecoder) itemKey(key string) bool {
	k, found, ok := knownKey(itemKeys, key)
	switch {
	case !ok:
		return false
	case !found:
		return d.skip()
	case !d.itemSeen.first(k):
		return false
	}
	switch k {
	case ikType:
		d.r.itemType, ok = d.str()
	case ikChannel:
		d.r.channel, ok = d.str()
	case ikTS:
		d.r.ts, ok = d.str()
	default:
		return false // message, file, comment: not a reaction the bot counts, and typed deeply by slack-go
	}
	return ok
}

func (d *fastDecoder) slashKey(key string) bool {
	k, found, ok := knownKey(slashKeys, key)
	switch {
	case !ok:
		return false
	case !found:
		return d.skip()
	case !d.slashSeen.first(k):
		return false
	}
	c := &d.sc
	var v string
	switch slashKeys[k] {
	case "is_enterprise_install":
		// SlashCommand.UnmarshalJSON: null leaves it, a bool is taken, a string must parse as one.
		if d.null() {
			return true
		}
		if d.i < len(d.s) && d.s[d.i] == '"' {
			if v, ok = d.str(); !ok {
				return false
			}
			b, err := strconv.ParseBool(v)
			c.IsEnterpriseInstall = b
			return err == nil
		}
		switch {
		case strings.HasPrefix(d.s[d.i:], "true"):
			d.i += 4
			c.IsEnterpriseInstall = true
			return true
		case strings.HasPrefix(d.s[d.i:], "false"):
			d.i += 5
			c.IsEnterpriseInstall = false
			return true
		}
		return false
	default:
		if v, ok = d.str(); !ok {
			return false
		}
	}
	switch slashKeys[k] {
	case "token":
		c.Token = v
	case "team_id":
		c.TeamID = v
	case "team_domain":
		c.TeamDomain = v
	case "enterprise_id":
		c.EnterpriseID = v
	case "enterprise_name":
		c.EnterpriseName = v
	case "channel_id":
		c.ChannelID = v
	case "channel_name":
		c.ChannelName = v
	case "user_id":
		c.UserID = v
	case "user_name":
		c.UserName = v
	case "command":
		c.Command = v
	case "text":
		c.Text = v
	case "response_url":
		c.ResponseURL = v
	case "trigger_id":
		c.TriggerID = v
	case "api_app_id":
		c.APIAppID = v
	}
	return true
}

// null consumes a null literal if one is next.
func (d *fastDecoder) null() bool {
	if strings.HasPrefix(d.s[d.i:], "null") {
		d.i += 4
		return true
	}
	return false
}

// str reads a string value as encoding/json would into a string field: null leaves it empty (there
// are no duplicates to leave an earlier value).
func (d *fastDecoder) str() (string, bool) {
	if d.null() {
		return "", true
	}
	start, end, esc, ok := d.stringToken()
	if !ok {
		return "", false
	}
	v := d.s[start+1 : end-1]
	if esc || !utf8.ValidString(v) {
		// Escapes and invalid UTF-8 (which encoding/json replaces) are rare: let encoding/json say.
		var u string
		if json.Unmarshal([]byte(d.s[start:end]), &u) != nil {
			return "", false
		}
		return u, true
	}
	return v, true
}

// integer reads a value encoding/json would store in an int field.
func (d *fastDecoder) integer() (int, bool) {
	if d.null() {
		return 0, true
	}
	start := d.i
	if !d.number() {
		return 0, false
	}
	n, err := strconv.ParseInt(d.s[start:d.i], 10, strconv.IntSize)
	return int(n), err == nil
}

func (d *fastDecoder) boolean() bool {
	for _, lit := range []string{"true", "false", "null"} {
		if strings.HasPrefix(d.s[d.i:], lit) {
			d.i += len(lit)
			return true
		}
	}
	return false
}

// array reads null or an array, calling elem at each element.
func (d *fastDecoder) array(elem func() bool) bool {
	if d.null() {
		return true
	}
	if d.i >= len(d.s) || d.s[d.i] != '[' {
		return false
	}
	d.depth++
	if d.depth > maxDepth {
		return false
	}
	d.i++
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		d.depth--
		return true
	}
	for {
		d.ws()
		if !elem() {
			return false
		}
		d.ws()
		if d.i >= len(d.s) {
			return false
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			d.depth--
			return true
		default:
			return false
		}
	}
}

// skip checks and passes over any value.
func (d *fastDecoder) skip() bool {
	if d.i >= len(d.s) {
		return false
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object(nil)
	case c == '[':
		return d.array(d.skip)
	case c == '"':
		_, _, _, ok := d.stringToken()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	default:
		return d.boolean()
	}
}

// stringToken passes over a string, checking its escapes; s[start:end] is the token with its quotes.
func (d *fastDecoder) stringToken() (start, end int, esc, ok bool) {
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return 0, 0, false, false
	}
	start = d.i
	for i := d.i + 1; i < len(d.s); i++ {
		switch c := d.s[i]; {
		case c == '"':
			d.i = i + 1
			return start, d.i, esc, true
		case c < 0x20:
			return 0, 0, false, false
		case c == '\\':
			esc = true
			i++
			if i >= len(d.s) {
				return 0, 0, false, false
			}
			switch d.s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(d.s) {
					return 0, 0, false, false
				}
				for _, h := range []byte(d.s[i+1 : i+5]) {
					if !isHex(h) {
						return 0, 0, false, false
					}
				}
				i += 4
			default:
				return 0, 0, false, false
			}
		}
	}
	return 0, 0, false, false
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// number passes over a number by JSON's grammar.
func (d *fastDecoder) number() bool {
	s, i := d.s, d.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	d.i = i
	return true
}
