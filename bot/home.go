package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
)

// The App Home: on app_home_opened the bot publishes (views.publish) a Home for that person, and
// publishes it again when what it shows changes for them (their answer, a poll's state, a
// deadline). The Home shows only polls in channels the person is a member of, as results and me do.

// Block Kit limits for views (https://docs.slack.dev/reference/block-kit/blocks).
const (
	maxViewBlocks = 100
	maxHomePolls  = 10 // polls shown; each takes up to 4 blocks
	// deadlines listed; at under 200 characters a line they take at most 4 blocks
	maxHomeDeadlines = 50
	maxShortBody     = 200
	homeAdminLabel   = "Admin"
)

// Action ids of the Home's own buttons; the values say which poll or section. Its answer buttons are
// the poll message's (poll_answer:<option>, poll_forget, the value the poll id): one handler and one
// rule for clicks wherever they are.
const (
	actionHomeRemind    = "home_remind"    // value "on" or "off": the setting the button turns on
	actionHomeDetails   = "home_details"   // value a posting section's key
	actionAdminClose    = "admin_close"    // value "<poll id>"
	actionAdminReopen   = "admin_reopen"   // value "<poll id>"
	actionAdminExport   = "admin_export"   // value "<poll id>"
	actionAdminDeadline = "admin_deadline" // opens the add-deadline modal
)

// homeLimit is views.publish's rate: Tier 4, 100+ calls a minute per workspace
// (https://docs.slack.dev/reference/methods/views.publish). The publisher keeps under 100 a minute
// with a burst of homeBurst, so a room of people opening the Home at once get theirs inside
// Slack's 3 seconds.
const (
	homePerMinute = 100
	homeBurst     = 20
)

// homes publishes Home tabs. Opens are published at once, ahead of any refresh under way; changes
// are coalesced per person and published only when the rendering differs from what that person's
// Home shows. A change to a poll or the deadlines is rendered for everyone who has opened the Home
// during this run; a changed answer only for its author and the admins who see that poll's counts.
// A views.publish token is spent only on a Home that is actually published.
type homes struct {
	b *run

	mu     sync.Mutex
	seen   map[string]bool   // people who opened the Home during this run
	dirty  map[string]bool   // to render again; true: publish even if unchanged (an open)
	all    bool              // everyone in seen is to be rendered again
	polls  map[int64]bool    // polls whose answers changed: their admins' Homes are to be rendered again
	shown  map[string]string // what each person's Home shows now
	wake   chan struct{}
	tokens float64
	filled time.Time
}

func newHomes(b *run) *homes {
	return &homes{b: b, seen: map[string]bool{}, dirty: map[string]bool{}, shown: map[string]string{},
		polls: map[int64]bool{}, wake: make(chan struct{}, 1), tokens: homeBurst}
}

// opened asks for user's Home to be published now.
func (h *homes) opened(user string) {
	if h == nil {
		return // a run under construction (tests build parts of one)
	}
	h.mu.Lock()
	h.seen[user] = true
	h.dirty[user] = true
	h.mu.Unlock()
	h.poke()
}

// changed asks for the Home of everyone who has one to be rendered again (a poll's answers or state,
// the deadlines); only the ones whose Home now says something else are published. It never blocks.
func (h *homes) changed() {
	if h == nil {
		return // a run under construction (tests build parts of one)
	}
	h.mu.Lock()
	h.all = true
	h.mu.Unlock()
	h.poke()
}

// answered asks for the Homes that show user's answer on poll id to be rendered again: user's own
// and those of the admins who see the poll's counts. It never blocks.
func (h *homes) answered(id int64, user string) {
	if h == nil {
		return // a run under construction (tests build parts of one)
	}
	h.mu.Lock()
	if h.seen[user] && !h.dirty[user] {
		h.dirty[user] = false
	}
	h.polls[id] = true
	h.mu.Unlock()
	h.poke()
}

// changedFor asks for user's Home to be rendered again, if they have one.
func (h *homes) changedFor(user string) {
	if h == nil {
		return // a run under construction (tests build parts of one)
	}
	h.mu.Lock()
	if h.seen[user] && !h.dirty[user] {
		h.dirty[user] = false
	}
	h.mu.Unlock()
	h.poke()
}

func (h *homes) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// take is the Homes to render now (true: publish even if unchanged) and the polls whose admins'
// Homes are to be rendered too.
func (h *homes) take() (map[string]bool, []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.dirty
	h.dirty = map[string]bool{}
	var polls []int64
	if h.all {
		for u := range h.seen {
			if _, ok := out[u]; !ok {
				out[u] = false
			}
		}
		h.all = false
	} else {
		for id := range h.polls {
			polls = append(polls, id)
		}
	}
	clear(h.polls)
	return out, polls
}

// takeOpens is the Homes opened since the last take, taken out of what is marked.
func (h *homes) takeOpens() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for u, force := range h.dirty {
		if force {
			out = append(out, u)
			delete(h.dirty, u)
		}
	}
	return out
}

// addAdmins adds to work the Homes of the admins who see poll ids' counts: people who opened the
// Home during this run, are admins and are members of the poll's channel. Membership and admin
// rights come from their caches, so a warm pass costs no Web API call.
func (h *homes) addAdmins(ctx context.Context, work map[string]bool, ids []int64) {
	if len(ids) == 0 {
		return
	}
	h.mu.Lock()
	var viewers []string
	for u := range h.seen {
		if _, ok := work[u]; !ok {
			viewers = append(viewers, u)
		}
	}
	h.mu.Unlock()
	for _, id := range ids {
		p, ok := h.b.polls.byID(id)
		if !ok {
			continue
		}
		members, err := h.b.channelMembers(ctx, p.Channel)
		if err != nil {
			h.b.log.Warn("members of a poll's channel; its admins' Homes are not refreshed", "channel", p.Channel, "err", err)
			continue
		}
		for _, u := range viewers {
			if _, ok := work[u]; ok || !members[u] {
				continue
			}
			if admin, err := h.b.isAdmin(ctx, u); err == nil && admin {
				work[u] = false
			}
		}
	}
}

// wait takes one views.publish token, waiting for it while ctx lasts.
func (h *homes) wait(ctx context.Context) error {
	for {
		now := time.Now()
		if !h.filled.IsZero() {
			h.tokens = min(homeBurst, h.tokens+now.Sub(h.filled).Minutes()*homePerMinute)
		}
		h.filled = now
		if h.tokens >= 1 {
			h.tokens--
			return nil
		}
		if err := sleepCtx(ctx, time.Duration((1-h.tokens)/homePerMinute*float64(time.Minute))); err != nil {
			return err
		}
	}
}

// run publishes Homes until ctx ends. Changes wait b.updateInterval so that a burst (a poll's
// reactions, several deadlines) costs one publish per person.
func (h *homes) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		if !h.hasOpen() && !h.coalesce(ctx) {
			return
		}
		work, polls := h.take()
		h.addAdmins(ctx, work, polls)
		for {
			// A Home just opened goes ahead of the rest of the pass: Slack shows it within 3 seconds.
			for _, user := range h.takeOpens() {
				delete(work, user)
				_ = h.b.safely("views_publish", func() error { return h.b.publishHome(ctx, user, true) })
			}
			if ctx.Err() != nil {
				return
			}
			user, force, ok := any1(work)
			if !ok {
				break
			}
			delete(work, user)
			_ = h.b.safely("views_publish", func() error { return h.b.publishHome(ctx, user, force) })
		}
	}
}

// any1 is one entry of m.
func any1(m map[string]bool) (string, bool, bool) {
	for k, v := range m {
		return k, v, true
	}
	return "", false, false
}

// coalesce waits b.updateInterval for more changes, or less if someone opens the Home meanwhile. It
// is false once ctx has ended.
func (h *homes) coalesce(ctx context.Context) bool {
	t := time.NewTimer(h.b.updateInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-h.wake:
			if h.hasOpen() {
				return true
			}
		}
	}
}

func (h *homes) hasOpen() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, force := range h.dirty {
		if force {
			return true
		}
	}
	return false
}

// publishHome renders user's Home and publishes it, unless it says what it already shows and force
// is false.
func (b *run) publishHome(ctx context.Context, user string, force bool) error {
	blocks, err := b.renderHome(ctx, user)
	if err != nil {
		b.metrics.handlerError("home")
		b.log.Warn("render home", "user", user, "err", err)
		return err
	}
	content := pollContent("", blocks)
	b.homes.mu.Lock()
	same := b.homes.shown[user] == content
	b.homes.mu.Unlock()
	if same && !force {
		return nil
	}
	if err := b.homes.wait(ctx); err != nil {
		return err
	}
	err = b.call(ctx, "views.publish", true, func(ctx context.Context) error {
		_, err := b.client.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user,
			View: slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: "home", Blocks: slack.Blocks{BlockSet: blocks}}})
		return err
	})
	b.homes.mu.Lock()
	if err != nil {
		delete(b.homes.shown, user)
	} else {
		b.homes.shown[user] = content
	}
	b.homes.mu.Unlock()
	if err != nil {
		b.metrics.handlerError("views_publish")
		b.log.Warn("publish home", "user", user, "err", err)
	}
	return err
}

// visiblePolls is the current poll of each channel user is a member of, newest first.
func (b *Bot) visiblePolls(ctx context.Context, user string) ([]internbot.Poll, error) {
	polls, err := b.store.Polls(ctx)
	if err != nil {
		return nil, err
	}
	var out []internbot.Poll
	asked := map[string]bool{}
	for i := len(polls) - 1; i >= 0 && len(out) < maxHomePolls; i-- {
		p := polls[i]
		if asked[p.Channel] {
			continue // a channel's newest poll is its current one
		}
		asked[p.Channel] = true
		members, err := b.channelMembers(ctx, p.Channel)
		if err != nil {
			return nil, err
		}
		if members[user] {
			out = append(out, p)
		}
	}
	return out, nil
}

// renderHome is user's Home: their answers, the upcoming deadlines, their reminder setting, the
// posting's sections, and for admins each open poll's counts with its buttons.
func (b *run) renderHome(ctx context.Context, user string) ([]slack.Block, error) {
	admin, err := b.isAdmin(ctx, user)
	if err != nil {
		b.log.Warn("admin check failed; showing the member's Home", "user", user, "err", err)
		admin = false
	}
	polls, err := b.visiblePolls(ctx, user)
	if err != nil {
		return nil, err
	}
	title := b.cfg.Posting.Title
	if title == "" {
		title = "Internship"
	}
	blocks := []slack.Block{slack.NewHeaderBlock(plainText(truncate(title, maxHeaderText)))}

	// Your answers.
	blocks = append(blocks, mrkdwnSection("*Your answers*"))
	if len(polls) == 0 {
		blocks = append(blocks, contextBlock("There is no poll in a channel you are in."))
	}
	for _, p := range polls {
		pb, err := b.homePollBlocks(ctx, p, user, admin)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, pb...)
	}

	// Deadlines.
	blocks = append(blocks, slack.NewDividerBlock())
	db, err := b.homeDeadlineBlocks(ctx, admin)
	if err != nil {
		return nil, err
	}
	blocks = append(blocks, db...)

	// Reminder setting.
	off, err := b.store.RemindersOff(ctx, user)
	if err != nil {
		return nil, err
	}
	state, label, value := "on", "Turn reminder DMs off", "off"
	if off {
		state, label, value = "off", "Turn reminder DMs on", "on"
	}
	blocks = append(blocks, slack.NewSectionBlock(mrkdwnText(fmt.Sprintf("*Reminder DMs:* %s", state)), nil,
		slack.NewAccessory(button(actionHomeRemind, label, value))))

	// The posting.
	blocks = append(blocks, slack.NewDividerBlock(), mrkdwnSection("*About the internship*"))
	postingBlocks := b.homePostingBlocks()
	room := maxViewBlocks - len(blocks)
	if len(postingBlocks) > room {
		postingBlocks = append(postingBlocks[:max(room-1, 0)], contextBlock("…see `/internship details` for the rest."))
	}
	return append(blocks, postingBlocks...), nil
}

// homePollBlocks is one poll on user's Home: their answer with buttons to change or forget it, and
// for an admin its counts, how many have not answered, and its admin buttons.
func (b *run) homePollBlocks(ctx context.Context, p internbot.Poll, user string, admin bool) ([]slack.Block, error) {
	a, err := b.store.AnswerOf(ctx, p.ID, user)
	answered := err == nil
	if err != nil && !errors.Is(err, internbot.ErrNotFound) {
		return nil, err
	}
	state := "open"
	if p.Closed() {
		state = "closed"
	}
	line := fmt.Sprintf("*%s* (<#%s>, %s)\n", escape(truncate(p.Question, 500)), p.Channel, state)
	switch {
	case answered:
		line += fmt.Sprintf("Your answer: *%s*", escape(a.Answer))
	case p.Closed():
		line += "You didn't answer."
	default:
		line += "You haven't answered yet."
	}
	out := []slack.Block{mrkdwnSection(line)}
	id := strconv.FormatInt(p.ID, 10)
	if !p.Closed() {
		var els []slack.BlockElement
		for i, o := range p.Options {
			if i >= 24 {
				break // an actions block holds 25 elements; the last is Forget
			}
			label := o.Answer
			if answered && o.Answer == a.Answer {
				label = "✓ " + label
			}
			btn := button(actionPollAnswer+":"+strconv.Itoa(i), label, id)
			btn.AccessibilityLabel = truncate("Answer "+o.Answer, maxButtonText)
			els = append(els, btn)
		}
		if answered {
			els = append(els, button(actionPollForget, "Forget my click", id))
		}
		out = append(out, slack.NewActionBlock("", els...))
	}
	if !admin {
		return out, nil
	}
	counts, err := b.store.Counts(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	answers, err := b.store.Answers(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	members, err := b.channelMembers(ctx, p.Channel)
	if err != nil {
		return nil, err
	}
	answeredBy := map[string]bool{}
	for _, a := range answers {
		answeredBy[a.User] = true
	}
	waiting := 0
	for m := range members {
		if m != b.botUserID && !answeredBy[m] {
			waiting++
		}
	}
	shown := fmt.Sprintf("%s · %d in <#%s> not answered", countsLine(p.Options, counts), waiting, p.Channel)
	if !p.Visibility(admin).Counts {
		// poll.hide_results, for admins too: members − not answered would be how many answered.
		shown = "counts hidden until the poll closes, and how many have not answered (Export still gives admins the answers)"
	}
	out = append(out, contextBlock(fmt.Sprintf("%s: %s", homeAdminLabel, shown)))
	var els []slack.BlockElement
	if p.Closed() {
		els = append(els, button(actionAdminReopen, "Reopen poll", id))
	} else {
		close := button(actionAdminClose, "Close poll", id)
		close.Style = slack.StyleDanger
		els = append(els, close)
	}
	els = append(els, button(actionAdminExport, "Export CSV", id))
	return append(out, slack.NewActionBlock("", els...)), nil
}

// homeDeadlineBlocks lists the upcoming deadlines with the days left. Dates are <!date> tokens, so
// each reader sees the date in their own locale and time zone; the timestamp is noon of the day in
// the bot's time zone, which is that same day in every time zone within 12 hours of it.
func (b *Bot) homeDeadlineBlocks(ctx context.Context, admin bool) ([]slack.Block, error) {
	lines, err := b.upcomingDeadlines(ctx, func(d config.Date) string { return slackDate(d, b.cfg.Timezone) })
	if err != nil {
		return nil, err
	}
	text := "*Upcoming deadlines*\n"
	if len(lines) == 0 {
		text += "None yet."
	} else if len(lines) > maxHomeDeadlines {
		// Unbounded, the list pushes the view past Block Kit's 100 blocks and Slack refuses the Home.
		text += strings.Join(lines[:maxHomeDeadlines], "\n") +
			fmt.Sprintf("\n…and %d more: `/internship deadlines` lists them all.", len(lines)-maxHomeDeadlines)
	} else {
		text += strings.Join(lines, "\n")
	}
	blocks := mrkdwnSections(text)
	if admin {
		blocks = append(blocks, slack.NewActionBlock("", button(actionAdminDeadline, "Add a deadline", "add")))
	}
	return blocks, nil
}

// slackDate is a <!date> token for d (https://docs.slack.dev/messaging/formatting-message-text#date-formatting),
// with the date written out as its fallback.
func slackDate(d config.Date, loc *time.Location) string {
	noon := d.In(loc).Add(12 * time.Hour)
	return fmt.Sprintf("<!date^%d^{date_long}|%s>", noon.Unix(), longDate(d))
}

// homePostingBlocks is the posting: a short section in full, a longer one as its title with a
// Details button.
func (b *Bot) homePostingBlocks() []slack.Block {
	var out []slack.Block
	for _, s := range b.cfg.Posting.Sections {
		body := strings.TrimSpace(s.Body)
		if len([]rune(body)) <= maxShortBody {
			out = append(out, mrkdwnSection("*"+escape(s.Title)+"*\n"+escape(body)))
			continue
		}
		out = append(out, slack.NewSectionBlock(mrkdwnText("*"+escape(s.Title)+"*"), nil,
			slack.NewAccessory(button(actionHomeDetails, "Details", truncate(s.Key, 2000)))))
	}
	return out
}

func plainText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func mrkdwnText(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, truncate(s, maxSectionText), false, false)
}

// button is a button whose label keeps Slack's 75-character limit.
func button(actionID, label, value string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, value, plainText(truncate(label, maxButtonText)))
}
