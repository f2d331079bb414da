package bot

import (
	"fmt"
	"regexp"
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

// renderPoll is the poll message: question, how to answer, live counts; a closed poll says so.
func renderPoll(p internbot.Poll, counts map[string]int) (string, []slack.Block) {
	how := "React to answer: " + legend(p.Options)
	status := countsLine(p.Options, counts)
	if !p.ClosedAt.IsZero() {
		how = "This poll is closed. Final counts:"
	}
	text := fmt.Sprintf("%s\n%s\n%s", p.Question, how, status)
	return text, []slack.Block{
		mrkdwnSection("*" + escape(p.Question) + "*"),
		contextBlock(how),
		mrkdwnSection(status),
	}
}
