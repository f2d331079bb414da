package internbot

// Click is a person pressing one of a poll message's option buttons (a block_actions interaction).
// MessageTS and ActionTS, with User, identify one delivery of it: Slack may send an interaction
// again, and the same click is stored once.
type Click struct {
	PollID    int64
	User      string
	Option    int    // the option's position in Poll.Options
	MessageTS string // the message the button was on (the poll, or the ephemeral confirming an answer)
	ActionTS  string // Slack's action_ts: when the person clicked, on Slack's clock; with User and MessageTS, what identifies a delivery
	// OrderTS, when set, orders the click instead of ActionTS: the bot's reading of Slack's clock for
	// an action_ts too far ahead of it to be real. It may differ between deliveries of one click.
	OrderTS string
}

// ClickResult is what ApplyClick did with one click.
type ClickResult struct {
	Duplicate bool   // this delivery was stored before; nothing changed
	Answer    string // the person's answer after the click; "" for none
}

// Visibility is what a viewer may be shown of a poll's answers.
type Visibility struct {
	Counts bool // how many gave each answer
	Names  bool // who answered what
}

// Visibility says what a viewer may see of the poll: counts unless the poll hides them until it
// closes, and names only for an admin and only when the poll is not anonymous. Everything that shows
// answers (the poll message, results, the App Home, export) asks it. A person always sees their own
// answer.
func (p Poll) Visibility(admin bool) Visibility {
	return Visibility{Counts: !p.HideResults || p.Closed(), Names: admin && !p.Anonymous}
}

// ButtonsOnly reports whether the poll is answered with its buttons alone. Slack shows every
// reaction's count and, to anyone who hovers, who reacted: an anonymous poll or one that hides its
// counts would give both away, so it neither invites nor counts reactions.
func (p Poll) ButtonsOnly() bool { return p.Anonymous || p.HideResults }
