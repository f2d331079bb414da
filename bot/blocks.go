package bot

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/posting"
)

// Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
const (
	maxSectionText = 3000
	maxHeaderText  = 150
	maxBlocks      = 50
)

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// bareMention is @channel, @here or @everyone typed as a word: Slack turns it into a mention that
// notifies everyone where a message is parsed with link_names (and the slash command is registered
// with should_escape: false, so people's text arrives that way).
var bareMention = regexp.MustCompile(`(?i)@(channel|here|everyone)`)

// escape makes text safe inside mrkdwn: Slack reads <…> as links and mentions (<!channel>, <@U…>),
// and a bare @channel, @here or @everyone gets a word joiner (U+2060, invisible) after its @ so that
// it reads the same but notifies nobody.
func escape(s string) string {
	return bareMention.ReplaceAllString(mrkdwnEscaper.Replace(s), "@\u2060$1")
}

func mrkdwnSection(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, truncate(text, maxSectionText), false, false), nil, nil)
}

func contextBlock(text string) slack.Block {
	return slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, truncate(text, maxSectionText), false, false))
}

// mrkdwnSections is text as section blocks, split at line ends so that no block passes Slack's
// 3000-character limit; a line longer than that is split where it must be.
func mrkdwnSections(text string) []slack.Block {
	var out []slack.Block
	var chunk strings.Builder
	n := 0
	flush := func() {
		if t := strings.TrimRight(chunk.String(), "\n"); strings.TrimSpace(t) != "" {
			out = append(out, mrkdwnSection(t))
		}
		chunk.Reset()
		n = 0
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		for utf8.RuneCountInString(line) > maxSectionText {
			flush()
			head := firstRunes(line, maxSectionText)
			out = append(out, mrkdwnSection(head))
			line = line[len(head):]
		}
		l := utf8.RuneCountInString(line)
		if n+l > maxSectionText {
			flush()
		}
		chunk.WriteString(line)
		n += l
	}
	flush()
	return capBlocks(out)
}

// sectionBlocks renders one posting section.
func sectionBlocks(s *posting.Section) []slack.Block {
	return mrkdwnSections("*" + escape(s.Title) + "*\n" + escape(s.Body))
}

func plainSection(s *posting.Section) string { return s.Title + "\n" + s.Body + "\n" }

// renderPosting is the whole posting: a header, the summary, then every section; the text is the
// plain fallback Slack shows in notifications and to clients without blocks.
func renderPosting(p *posting.Posting) (string, []slack.Block) {
	var text strings.Builder
	text.WriteString(p.Title + "\n")
	blocks := []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(p.Title, maxHeaderText), false, false))}
	if p.Summary != "" {
		text.WriteString(p.Summary + "\n")
		blocks = append(blocks, mrkdwnSection(escape(p.Summary)), slack.NewDividerBlock())
	}
	for i := range p.Sections {
		s := &p.Sections[i]
		if p.Summary != "" && strings.TrimSpace(s.Body) == strings.TrimSpace(p.Summary) {
			continue // a section that repeats the summary (the default's "about") is already shown
		}
		text.WriteString(plainSection(s))
		blocks = append(blocks, sectionBlocks(s)...)
	}
	return text.String(), capBlocks(blocks)
}

// renderMatches answers a question with the sections that matched it, best first.
func renderMatches(matches []posting.Match, command string) (string, []slack.Block) {
	var text strings.Builder
	var blocks []slack.Block
	for _, m := range matches {
		text.WriteString(plainSection(m.Section))
		blocks = append(blocks, sectionBlocks(m.Section)...)
	}
	blocks = append(blocks, contextBlock(fmt.Sprintf("`%s details` shows the whole posting.", command)))
	return text.String(), capBlocks(blocks)
}

func capBlocks(blocks []slack.Block) []slack.Block {
	if len(blocks) <= maxBlocks {
		return blocks
	}
	return append(blocks[:maxBlocks-1], contextBlock("…the rest did not fit in one message."))
}

// legend is ":white_check_mark: yes · :thinking_face: maybe · :x: no".
func legend(opts []internbot.PollOption) string {
	parts := make([]string, len(opts))
	for i, o := range opts {
		parts[i] = ":" + o.Reaction + ": " + escape(o.Answer)
	}
	return strings.Join(parts, " · ")
}

// countsLine is "yes 3 · maybe 1 · no 0 — 4 answers".
func countsLine(opts []internbot.PollOption, counts map[string]int) string {
	parts := make([]string, len(opts))
	total := 0
	for i, o := range opts {
		n := counts[o.Answer]
		total += n
		parts[i] = fmt.Sprintf("*%s* %d", escape(o.Answer), n)
	}
	return fmt.Sprintf("%s — %s", strings.Join(parts, " · "), plural(total, "answer"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// maxButtonText is Slack's limit on a button's label and on its accessibility_label.
const maxButtonText = 75

// Action ids of the poll's buttons: "poll_answer:<option position>" answers, "poll_forget" withdraws
// the person's click (on the ephemeral that confirms an answer).
const (
	actionPollAnswer = "poll_answer"
	actionPollForget = "poll_forget"
)

// answerButtons are one button per option, labelled with its answer; value carries the poll's id
// where it is known (the poll message's own buttons are found by the message they are on).
func answerButtons(p internbot.Poll, skip string, label func(answer string) string) []slack.BlockElement {
	var out []slack.BlockElement
	for i, o := range p.Options {
		if o.Answer == skip {
			continue
		}
		value := ""
		if p.ID != 0 {
			value = strconv.FormatInt(p.ID, 10)
		}
		btn := slack.NewButtonBlockElement(fmt.Sprintf("%s:%d", actionPollAnswer, i), value,
			slack.NewTextBlockObject(slack.PlainTextType, truncate(label(o.Answer), maxButtonText), false, false))
		btn.AccessibilityLabel = truncate("Answer the poll: "+o.Answer, maxButtonText)
		out = append(out, btn)
	}
	return out
}

// privacyLine says who can see what of the poll's answers.
func privacyLine(p internbot.Poll) string {
	var parts []string
	if p.Anonymous {
		parts = append(parts, ":lock: Anonymous: nobody, admins included, can see who answered what.")
	} else {
		parts = append(parts, "Admins can see who answered what.")
	}
	if p.HideResults && !p.Closed() {
		parts = append(parts, "Counts stay hidden until the poll closes.")
	}
	return strings.Join(parts, " ")
}

// countsFor is the counts line as a viewer who is not an admin may see it.
func countsFor(p internbot.Poll, counts map[string]int) string {
	if !p.Visibility(false).Counts {
		return "Counts are hidden until the poll closes."
	}
	return countsLine(p.Options, counts)
}

// renderPoll is the poll message: the question, one button per option (plus the reactions, unless
// the poll is answered with buttons only), who can see what, and the counts when they may be shown;
// a closed poll has no buttons and says so.
func renderPoll(p internbot.Poll, counts map[string]int) (string, []slack.Block) {
	how := "Click your answer, or react: " + legend(p.Options)
	if p.ButtonsOnly() {
		how = "Click your answer. Reactions don't count in this poll: Slack shows everyone who reacted, and how many."
	}
	status := countsFor(p, counts)
	if p.Closed() {
		how = "This poll is closed. Final counts:"
	}
	privacy := privacyLine(p)
	text := fmt.Sprintf("%s\n%s\n%s\n%s", p.Question, how, status, privacy)
	blocks := []slack.Block{mrkdwnSection("*" + escape(p.Question) + "*")}
	if !p.Closed() {
		// The poll message's buttons are found by the message they are on; no id, so the first
		// rendering (before the poll has one) is the same as every later one.
		q := p
		q.ID = 0
		blocks = append(blocks, slack.NewActionBlock("poll_answers", answerButtons(q, "", func(a string) string { return a })...))
	}
	return text, append(blocks, contextBlock(how), mrkdwnSection(status), contextBlock(privacy))
}
