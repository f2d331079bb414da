package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
)

// reminderLease is how long a claim on a deadline's reminder for a day lasts without renewal; the bot
// renews it after every DM. A process that dies holding it blocks others for at most this long.
const reminderLease = 5 * time.Minute

// errLeaseHeld means another process (a scheduled run elsewhere, `internbot remind`) holds the
// reminder: this run left it alone.
var errLeaseHeld = errors.New("another internbot is sending this reminder")

// reminderEvent is the metadata event_type on every reminder the bot posts. With the event_payload's
// key it lets the bot find, after a crash, a reminder it posted but had not yet recorded.
const reminderEvent = "internbot_reminder"

// deadline is one deadline from the config (read-only) or the database (added by an admin).
type deadline struct {
	Name       string
	Date       config.Date
	FromConfig bool
}

// deadlines lists every deadline, by date then name.
func (b *Bot) deadlines(ctx context.Context) ([]deadline, error) {
	var out []deadline
	for _, d := range b.cfg.Deadlines {
		out = append(out, deadline{Name: d.Name, Date: d.Date, FromConfig: true})
	}
	stored, err := b.store.Deadlines(ctx)
	if err != nil {
		return nil, fmt.Errorf("deadlines: %w", err)
	}
	for _, d := range stored {
		date, err := config.ParseDate(d.Date)
		if err != nil {
			b.log.Warn("skipping a stored deadline with a bad date", "name", d.Name, "date", d.Date)
			continue
		}
		out = append(out, deadline{Name: d.Name, Date: date})
	}
	slices.SortFunc(out, func(a, b deadline) int {
		if c := a.Date.DaysUntil(b.Date); c != 0 {
			return -c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// today is the local date in the configured zone.
func (b *Bot) today() config.Date { return config.DateOf(b.now().In(b.cfg.Timezone)) }

func daysLeft(n int) string {
	switch n {
	case 0:
		return "today"
	case 1:
		return "1 day left"
	default:
		return fmt.Sprintf("%d days left", n)
	}
}

func longDate(d config.Date) string { return d.In(time.UTC).Format("Mon, Jan 2, 2006") }

// RunReminders runs the reminder job once for the current time: for each deadline whose days left are
// in reminders.days_before, it posts to the channel and sends DMs, each at most once per deadline
// per local day however often it is called. It stops between two posts when ctx ends; a post that
// failed is tried again on the next call. A DM that can never be delivered is recorded as failed
// and does not make the run fail.
func (b *Bot) RunReminders(ctx context.Context) error {
	_, err := b.RunRemindersReport(ctx)
	return err
}

// ReminderReport is what one run of the reminder job did.
type ReminderReport struct {
	Due           []string // deadlines with a reminder today
	Posted        []string // deadlines whose channel reminder this run posted
	DMsSent       int
	Undeliverable []UndeliverableDM // DMs recorded as failed by this run; they are not tried again
}

// UndeliverableDM is a reminder DM that Slack refused for good (the person was deactivated, …).
type UndeliverableDM struct {
	Deadline, User, Reason string
}

// RunRemindersReport is RunReminders, also saying what the run did. The error is set only when
// something failed that a later run may get done.
func (b *Bot) RunRemindersReport(ctx context.Context) (ReminderReport, error) {
	b.remindMu.Lock()
	defer b.remindMu.Unlock()
	var rep ReminderReport
	today := b.today()
	ds, err := b.deadlines(ctx)
	if err != nil {
		return rep, err
	}
	var errs []error
	due := 0
	for _, d := range ds {
		left := today.DaysUntil(d.Date)
		if !slices.Contains(b.cfg.Reminders.DaysBefore, left) {
			continue
		}
		due++
		if ctx.Err() != nil {
			break
		}
		rep.Due = append(rep.Due, d.Name)
		if err := b.remind(ctx, d, today.String(), left, &rep); err != nil {
			errs = append(errs, fmt.Errorf("reminder for %q: %w", d.Name, err))
		}
	}
	if due == 0 {
		// Say so: an operator running `internbot remind` by hand otherwise sees nothing at all.
		b.log.Info("no reminder is due today", "today", today.String(), "deadlines", len(ds), "days_before", b.cfg.Reminders.DaysBefore)
	}
	return rep, errors.Join(errs...)
}

func (b *Bot) remind(ctx context.Context, d deadline, day string, left int, rep *ReminderReport) error {
	rem, claimed, err := b.store.ClaimReminder(ctx, d.Name, day, b.cfg.Channel, b.holder, reminderLease)
	if err != nil {
		return err
	}
	if !claimed {
		return errLeaseHeld
	}
	defer func() {
		if err := b.store.ReleaseReminder(context.WithoutCancel(ctx), d.Name, day, b.holder); err != nil {
			b.log.Warn("could not release the reminder", "deadline", d.Name, "err", err)
		}
	}()
	// The channel post shows its own channel's poll or a public one (see channelReminderPoll); the
	// DMs are about the reminders channel's poll, else the newest, and go only to people in its
	// channel. Nothing is looked up for a post already made.
	var chanPoll, dmPoll *internbot.Poll
	if b.cfg.Channel != "" && rem.State != internbot.ReminderPosted {
		if chanPoll, err = found(b.channelReminderPoll(ctx)); err != nil {
			return err
		}
	}
	if b.cfg.Reminders.DM {
		if dmPoll, err = found(b.dmPoll(ctx)); err != nil {
			return err
		}
	}
	chanLink, dmLink := b.lazyPermalink(ctx, chanPoll), b.lazyPermalink(ctx, dmPoll)
	if chanPoll != nil && dmPoll != nil && chanPoll.ID == dmPoll.ID {
		dmLink = chanLink
	}
	var errs []error
	if b.cfg.Channel == "" {
		b.log.Warn("no channel in the config: the reminder is not posted", "deadline", d.Name)
	} else if err := b.postReminder(ctx, rem, d, day, left, chanPoll, chanLink, rep); err != nil {
		errs = append(errs, err)
	}
	if dmPoll != nil {
		if err := b.sendDMs(ctx, d, day, left, *dmPoll, dmLink, rep); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// found turns a lookup's internbot.ErrNotFound into a nil poll.
func found(p internbot.Poll, err error) (*internbot.Poll, error) {
	if errors.Is(err, internbot.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &p, nil
}

// dmPoll is the poll reminder DMs are about: the reminders channel's, else the newest anywhere (its
// recipients are filtered to the people in its channel).
func (b *Bot) dmPoll(ctx context.Context) (internbot.Poll, error) {
	if b.cfg.Channel != "" {
		p, err := b.store.CurrentPoll(ctx, b.cfg.Channel)
		if !errors.Is(err, internbot.ErrNotFound) {
			return p, err
		}
	}
	return b.store.LatestPoll(ctx)
}

// lazyPermalink is the poll's link, fetched only if something is sent: later ticks the same day cost
// no call. A nil poll has no link.
func (b *Bot) lazyPermalink(ctx context.Context, poll *internbot.Poll) func() string {
	var link string
	var fetched bool
	return func() string {
		if poll != nil && !fetched {
			link, fetched = b.permalink(ctx, *poll), true
		}
		return link
	}
}

func (b *Bot) permalink(ctx context.Context, p internbot.Poll) string {
	var link string
	err := b.call(ctx, "chat.getPermalink", true, func(ctx context.Context) error {
		var err error
		link, err = b.client.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: p.Channel, Ts: p.TS})
		return err
	})
	if err != nil {
		b.log.Warn("no permalink for the poll", "err", err)
	}
	return link
}

// renewLease extends this process's claim on the reminder right before a post. If the claim ran out
// (a long 429 storm) and another process took it over, that process finishes the work and this one
// stops: the two never post the same thing.
func (b *Bot) renewLease(ctx context.Context, d deadline, day string) error {
	_, still, err := b.store.ClaimReminder(ctx, d.Name, day, b.cfg.Channel, b.holder, reminderLease)
	if err != nil {
		return err
	}
	if !still {
		return errLeaseHeld
	}
	return nil
}

func reminderKey(deadline, day, user string) string {
	return deadline + "|" + day + "|" + user
}

func (b *Bot) postReminder(ctx context.Context, rem internbot.Reminder, d deadline, day string, left int, poll *internbot.Poll, link func() string, rep *ReminderReport) error {
	if rem.State == internbot.ReminderPosted {
		return nil
	}
	key := reminderKey(d.Name, day, "")
	if rem.Attempts > 1 {
		// An earlier attempt may have posted and died before it could record that: look first.
		ts, found, err := b.findPosted(ctx, b.cfg.Channel, key)
		if err != nil {
			return fmt.Errorf("check for an earlier post: %w", err)
		}
		if found {
			return b.store.MarkReminderPosted(ctx, d.Name, day, ts)
		}
	}
	var counts map[string]int
	if poll != nil {
		var err error
		if counts, err = b.store.Counts(ctx, poll.ID); err != nil {
			return err
		}
	}
	text, blocks := renderReminder(d, left, poll, counts, link())
	if err := b.renewLease(ctx, d, day); err != nil {
		return err
	}
	ts, err := b.post(ctx, b.cfg.Channel, text, blocks, key)
	ctx = context.WithoutCancel(ctx) // what happened is recorded, shutdown or not
	if err != nil {
		if ferr := b.store.MarkReminderFailed(ctx, d.Name, day, err.Error()); ferr != nil {
			b.log.Error("could not record a failed reminder", "err", ferr)
		}
		b.metrics.handlerError("reminder_post")
		return err
	}
	b.metrics.reminderPosted()
	b.log.Info("reminder posted", "deadline", d.Name, "day", day, "days_left", left)
	rep.Posted = append(rep.Posted, d.Name)
	return b.store.MarkReminderPosted(ctx, d.Name, day, ts)
}

// post sends one message carrying the reminder metadata. chat.postMessage is not repeated on network
// errors (it may have gone through); findPosted settles that on the next attempt.
//
// A request under way is finished even when ctx ends (it is a safe point), unless the shutdown's drain
// deadline passes first (see withAbandon): then it is abandoned, and findPosted settles whether Slack
// carried it out. Waiting out a 429 is not finished, since a rate-limited request was not carried out
// and the next run sends it.
func (b *Bot) post(ctx context.Context, channel, text string, blocks []slack.Block, key string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // a storm of 429s may delay a reminder this long
	defer cancel()
	var ts string
	err := b.call(ctx, "chat.postMessage", false, func(ctx context.Context) error {
		ctx, cancel := inFlight(ctx, 10*time.Second)
		defer cancel()
		var err error
		_, ts, err = b.client.PostMessageContext(ctx, channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...),
			slack.MsgOptionMetadata(slack.SlackMetadata{EventType: reminderEvent, EventPayload: map[string]any{"key": key}}))
		return err
	})
	return ts, err
}

// findPosted looks through the channel's recent history for a reminder the bot posted with key.
func (b *Bot) findPosted(ctx context.Context, channel, key string) (string, bool, error) {
	oldest := fmt.Sprintf("%d.000000", b.now().Add(-48*time.Hour).Unix())
	params := &slack.GetConversationHistoryParameters{ChannelID: channel, Oldest: oldest, Limit: 200, IncludeAllMetadata: true}
	for page := 0; page < 10; page++ {
		var resp *slack.GetConversationHistoryResponse
		err := b.call(ctx, "conversations.history", true, func(ctx context.Context) error {
			var err error
			resp, err = b.client.GetConversationHistoryContext(ctx, params)
			return err
		})
		if err != nil {
			return "", false, err
		}
		for _, m := range resp.Messages {
			if m.Metadata.EventType == reminderEvent && m.Metadata.EventPayload["key"] == key {
				return m.Timestamp, true, nil
			}
		}
		if !resp.HasMore || resp.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = resp.ResponseMetaData.NextCursor
	}
	return "", false, nil
}

// dmAnswers are the answers whose people get reminder DMs.
var dmAnswers = []string{"yes", "maybe"}

// sendDMs sends the deadline's DMs for day. The recipients are fixed the first time (a snapshot in the
// database), each one's progress is recorded, and a DM whose sending was interrupted is looked up
// before it is sent again: a crash neither repeats nor skips anyone.
func (b *Bot) sendDMs(ctx context.Context, d deadline, day string, left int, poll internbot.Poll, link func() string, rep *ReminderReport) error {
	dms, err := b.store.DMs(ctx, d.Name, day)
	if err != nil {
		return err
	}
	if len(dms) == 0 {
		answers, err := b.store.Answers(ctx, poll.ID)
		if err != nil {
			return err
		}
		var users []string
		for _, a := range answers {
			if slices.Contains(dmAnswers, strings.ToLower(a.Answer)) {
				users = append(users, a.User)
			}
		}
		// A DM names the poll and links it: only for people who can still see its channel.
		if users, err = b.onlyMembers(ctx, poll.Channel, users); err != nil {
			return err
		}
		if _, err := b.store.PlanDMs(ctx, d.Name, day, users); err != nil {
			return err
		}
		if dms, err = b.store.DMs(ctx, d.Name, day); err != nil {
			return err
		}
	}
	var errs []error
	sent := 0
	for _, dm := range dms {
		if dm.State == internbot.DMSent || dm.State == internbot.DMFailed {
			continue
		}
		if ctx.Err() != nil {
			break // a safe point: the next run resumes here
		}
		off, err := b.store.RemindersOff(ctx, dm.User)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if off {
			continue
		}
		if sent > 0 {
			if err := b.sleep(ctx, b.dmInterval); err != nil {
				break
			}
		}
		if err := b.renewLease(ctx, d, day); err != nil {
			errs = append(errs, err)
			break
		}
		sent++
		switch err := b.sendDM(ctx, d, day, left, poll, link, dm); {
		case err == nil:
			rep.DMsSent++
		case errors.Is(err, errUndeliverable):
			b.metrics.handlerError("reminder_dm")
			b.log.Warn("reminder DM can never be delivered; recorded as failed", "user", dm.User, "deadline", d.Name, "err", err)
			rep.Undeliverable = append(rep.Undeliverable, UndeliverableDM{Deadline: d.Name, User: dm.User, Reason: slackReason(err)})
		default:
			b.metrics.handlerError("reminder_dm")
			b.log.Warn("reminder DM not sent; it is tried again at the next run", "user", dm.User, "deadline", d.Name, "err", err)
			errs = append(errs, fmt.Errorf("DM to %s: %w", dm.User, err))
		}
	}
	return errors.Join(errs...)
}

func (b *Bot) sendDM(ctx context.Context, d deadline, day string, left int, poll internbot.Poll, link func() string, dm internbot.DM) error {
	key := reminderKey(d.Name, day, dm.User)
	im := dm.Channel
	if im == "" {
		err := b.call(ctx, "conversations.open", true, func(ctx context.Context) error {
			ch, _, _, err := b.client.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{dm.User}})
			if err == nil {
				im = ch.ID
			}
			return err
		})
		if err != nil {
			return b.dmFailed(ctx, d, day, dm.User, err)
		}
	}
	if dm.State == internbot.DMSending || dm.Attempts > 0 {
		// An earlier attempt may have been delivered: it died before recording it, or its response
		// was lost (a timeout after Slack had posted). Look before sending again.
		ts, found, err := b.findPosted(ctx, im, key)
		if err != nil {
			return fmt.Errorf("check for an earlier DM: %w", err)
		}
		if found {
			return b.store.MarkDMSent(ctx, d.Name, day, dm.User, im, ts)
		}
	}
	if err := b.store.MarkDMSending(ctx, d.Name, day, dm.User); err != nil {
		return err
	}
	answer := ""
	if a, err := b.store.AnswerOf(ctx, poll.ID, dm.User); err == nil {
		answer = a.Answer
	}
	text := renderDM(d, left, answer, poll, b.finalCounts(ctx, poll), link())
	ts, err := b.post(ctx, im, text, mrkdwnSections(text), key)
	if err != nil {
		return b.dmFailed(ctx, d, day, dm.User, err)
	}
	b.metrics.dmSent()
	return b.store.MarkDMSent(context.WithoutCancel(ctx), d.Name, day, dm.User, im, ts)
}

// errUndeliverable marks a DM that can never be delivered: it is recorded as failed, not retried.
var errUndeliverable = errors.New("the DM can never be delivered")

// dmFailed records why a DM was not sent and returns err. An error that retrying cannot fix (see
// undeliverable) marks the DM failed for good, and the error returned wraps errUndeliverable; any
// other puts it back to pending for the next run.
func (b *Bot) dmFailed(ctx context.Context, d deadline, day, user string, err error) error {
	ctx = context.WithoutCancel(ctx) // what happened is recorded, shutdown or not
	if undeliverable(err) {
		if ferr := b.store.MarkDMUndeliverable(ctx, d.Name, day, user, err.Error()); ferr != nil {
			return errors.Join(err, ferr) // not recorded: the next run tries again
		}
		return fmt.Errorf("%w: %w", errUndeliverable, err)
	}
	if ferr := b.store.MarkDMFailed(ctx, d.Name, day, user, err.Error()); ferr != nil {
		b.log.Error("could not record a failed DM", "err", ferr)
	}
	return err
}

func renderReminder(d deadline, left int, poll *internbot.Poll, counts map[string]int, link string) (string, []slack.Block) {
	head := fmt.Sprintf(":alarm_clock: *%s* is %s — %s", escape(d.Name), longDate(d.Date), daysLeft(left))
	if left == 0 {
		head = fmt.Sprintf(":alarm_clock: *%s* is *today* (%s)", escape(d.Name), longDate(d.Date))
	}
	var lines []string
	switch {
	case poll == nil:
		// The same whether there is no poll or only ones this channel may not see.
		lines = append(lines, "There is no “applying?” poll in this channel: an admin can post one here with `/internship poll`.")
	case !poll.ClosedAt.IsZero():
		// Reactions on a closed poll are ignored: no invitation to answer.
		status := "The “applying?” poll is closed. Final counts: " + countsLine(poll.Options, counts)
		if link != "" {
			status += " · <" + link + "|see the poll>"
		}
		lines = append(lines, status)
	default:
		status := "Applying? " + countsLine(poll.Options, counts)
		if link != "" {
			status += " · <" + link + "|see the poll>"
		}
		lines = append(lines, status, "Answer by reacting to the poll: "+legend(poll.Options))
	}
	text := head + "\n" + strings.Join(lines, "\n")
	return text, []slack.Block{mrkdwnSection(head), contextBlock(strings.Join(lines, "\n"))}
}

// finalCounts are a closed poll's counts for its reminder DMs; nil for an open poll, or when they
// cannot be read (the DM then says the poll is closed without them).
func (b *Bot) finalCounts(ctx context.Context, poll internbot.Poll) map[string]int {
	if poll.ClosedAt.IsZero() {
		return nil
	}
	counts, err := b.store.Counts(ctx, poll.ID)
	if err != nil {
		b.log.Warn("no final counts for the reminder DM", "err", err)
		return nil
	}
	return counts
}

func renderDM(d deadline, left int, answer string, poll internbot.Poll, final map[string]int, link string) string {
	when := "is in " + strings.TrimSuffix(daysLeft(left), " left")
	if left == 0 {
		when = "is today"
	}
	text := fmt.Sprintf(":alarm_clock: Reminder: *%s* %s (%s).", escape(d.Name), when, longDate(d.Date))
	switch {
	case answer == "":
	case !poll.ClosedAt.IsZero():
		text += fmt.Sprintf(" You answered *%s* on the poll, which is closed", escape(answer))
		if final != nil {
			text += ". Final counts: " + countsLine(poll.Options, final)
		}
		if link != "" {
			text += " (<" + link + "|see the poll>)"
		}
		text += "."
	default:
		text += fmt.Sprintf(" You answered *%s* on the poll", escape(answer))
		if link != "" {
			text += " (<" + link + "|change it>)"
		}
		text += "."
	}
	return text + " Turn these DMs off with `/internship remind off`."
}
