package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
)

// maxDeadlineName bounds a deadline's name: it appears in every reminder.
const maxDeadlineName = 100

// upcomingDeadlines is a line per deadline not yet past: its name, its date as date writes it, and the
// days left.
func (b *Bot) upcomingDeadlines(ctx context.Context, date func(config.Date) string) ([]string, error) {
	ds, err := b.reminders.Deadlines(ctx)
	if err != nil {
		return nil, err
	}
	today := b.reminders.Today()
	var lines []string
	for _, d := range ds {
		left := today.DaysUntil(d.Date)
		if left < 0 {
			continue
		}
		lines = append(lines, fmt.Sprintf("• *%s* — %s — %s", escape(truncate(d.Name, maxDeadlineName)), date(d.Date), daysLeft(left)))
	}
	return lines, nil
}

func (b *Bot) cmdDeadlines(ctx context.Context, r *request) (*reply, error) {
	lines, err := b.upcomingDeadlines(ctx, longDate)
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return textReply("No upcoming deadlines. An admin can add one with `%s deadline add YYYY-MM-DD NAME`.", r.command), nil
	}
	return textReply("Upcoming deadlines (%s):\n%s", b.cfg.Timezone.String(), strings.Join(lines, "\n")), nil
}

func (b *run) cmdDeadline(ctx context.Context, r *request) (*reply, error) {
	usage := textReply("Usage: `%s deadline add YYYY-MM-DD NAME…` or `%s deadline remove NAME…`", r.command, r.command)
	if len(r.args) == 1 && strings.EqualFold(r.args[0], "add") {
		return b.openDeadlineModal(ctx, r) // a form with a date picker
	}
	if len(r.args) < 2 {
		return usage, nil
	}
	switch strings.ToLower(r.args[0]) {
	case "add":
		if len(r.args) < 3 {
			return usage, nil
		}
		return b.addDeadline(ctx, r, r.args[1], strings.Join(r.args[2:], " "))
	case "remove", "rm", "delete":
		return b.removeDeadline(ctx, r, strings.Join(r.args[1:], " "))
	default:
		return usage, nil
	}
}

// deadlineProblems says what is wrong with a deadline an admin adds (the command and the modal): with
// its name, with its date; "" where nothing is.
func (b *Bot) deadlineProblems(name string, date config.Date) (nameErr, dateErr string) {
	switch {
	case name == "":
		nameErr = "Give the deadline a name."
	case utf8.RuneCountInString(name) > maxDeadlineName:
		nameErr = fmt.Sprintf("That name is too long: keep it under %d characters.", maxDeadlineName)
	}
	for _, d := range b.cfg.Deadlines {
		if name != "" && strings.EqualFold(d.Name, name) {
			nameErr = fmt.Sprintf("There is already a deadline called “%s” (in the config file).", escape(d.Name))
		}
	}
	if today := b.reminders.Today(); date.Before(today) {
		dateErr = fmt.Sprintf("%s is in the past (today is %s in %s).", date, today, b.cfg.Timezone)
	}
	return nameErr, dateErr
}

func (b *run) addDeadline(ctx context.Context, r *request, dateText, name string) (*reply, error) {
	date, err := config.ParseDate(dateText)
	if err != nil {
		return textReply("%s", escape(err.Error())), nil
	}
	if nameErr, dateErr := b.deadlineProblems(name, date); nameErr != "" || dateErr != "" {
		return textReply("%s", strings.TrimSpace(nameErr+" "+dateErr)), nil
	}
	_, err = b.store.AddDeadline(ctx, internbot.Deadline{Name: name, Date: date.String(), CreatedBy: r.user})
	if errors.Is(err, internbot.ErrDuplicate) {
		return textReply("There is already a deadline called *%s*. Remove it first to change its date.", escape(name)), nil
	} else if err != nil {
		return nil, err
	}
	b.homes.changed()
	left := b.reminders.Today().DaysUntil(date)
	return textReply("Added *%s* on %s (%s). Reminders go out %s days before.", escape(name), longDate(date), daysLeft(left), joinInts(b.cfg.Reminders.DaysBefore)), nil
}

func (b *run) removeDeadline(ctx context.Context, r *request, name string) (*reply, error) {
	for _, d := range b.cfg.Deadlines {
		if strings.EqualFold(d.Name, name) {
			return textReply("*%s* comes from the config file, so it can't be removed here: edit the config and restart the bot.", escape(d.Name)), nil
		}
	}
	err := b.store.RemoveDeadline(ctx, name)
	if errors.Is(err, internbot.ErrNotFound) {
		return textReply("There is no deadline called *%s*. `%s deadlines` lists them.", escape(truncate(name, 100)), r.command), nil
	} else if err != nil {
		return nil, err
	}
	b.homes.changed()
	return textReply("Removed the deadline *%s*.", escape(name)), nil
}

func (b *run) cmdRemind(ctx context.Context, r *request) (*reply, error) {
	if len(r.args) != 1 {
		return textReply("Usage: `%s remind on` or `%s remind off`", r.command, r.command), nil
	}
	switch strings.ToLower(r.args[0]) {
	case "off":
		if err := b.store.SetRemindersOff(ctx, r.user, true); err != nil {
			return nil, err
		}
		b.homes.changedFor(r.user)
		return textReply("OK: no more reminder DMs or nudges for you. The channel still gets its reminders. `%s remind on` undoes this.", r.command), nil
	case "on":
		if err := b.store.SetRemindersOff(ctx, r.user, false); err != nil {
			return nil, err
		}
		b.homes.changedFor(r.user)
		return textReply("OK: you'll get reminder DMs before deadlines while your answer is %s.", strings.Join(b.cfg.Reminders.DMAnswers, " or ")), nil
	default:
		return textReply("Usage: `%s remind on` or `%s remind off`", r.command, r.command), nil
	}
}

// cmdNudge DMs the members of the poll's channel who have not answered, now: once a day at most.
// An admin nudges only the people of a channel they are in (who has not answered is the poll's
// business), and with hide_results is not told how many were nudged: members − nudged is how many
// have answered.
func (b *Bot) cmdNudge(ctx context.Context, r *request) (*reply, error) {
	poll, err := b.nudgePoll(ctx)
	if err != nil {
		return nil, err
	}
	if poll != nil {
		members, err := b.channelMembers(ctx, poll.Channel)
		if err != nil {
			return nil, err
		}
		if !members[r.user] {
			return textReply("You're not in the poll's channel, so you can't nudge its people."), nil
		}
	}
	nr, err := b.reminders.Nudge(ctx, r.user)
	switch {
	case nr.Deadline == "" && err == nil:
		return textReply("There is no upcoming deadline to nudge people about. `%s deadline add` adds one.", r.command), nil
	case nr.NoPoll:
		return textReply("There is no open poll to nudge people about."), nil
	case nr.Busy:
		return textReply("A reminder run is under way; try again in a few minutes."), nil
	case nr.Already:
		return textReply("A nudge already went out today; the next can go tomorrow."), nil
	case err != nil && nr.Sent == 0:
		return nil, err
	}
	if poll != nil && !poll.Visibility(true).Counts {
		text := fmt.Sprintf("Nudged the people who had not answered the poll, about *%s* (how many is hidden until the poll closes).", escape(nr.Deadline))
		if nr.Failed > 0 {
			text += " Some could not be reached (see the logs)."
		}
		return textReply("%s", text), nil
	}
	people := "people"
	if nr.Sent == 1 {
		people = "person"
	}
	text := fmt.Sprintf("Nudged %d %s who had not answered the poll, about *%s*.", nr.Sent, people, escape(nr.Deadline))
	if nr.Failed > 0 {
		text += fmt.Sprintf(" %d could not be reached (see the logs).", nr.Failed)
	}
	return textReply("%s", text), nil
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ", ")
}

// nudgePoll is the poll a nudge is about, as the reminder engine picks it: the configured channel's
// current poll, else the newest; nil when there is none.
func (b *Bot) nudgePoll(ctx context.Context) (*internbot.Poll, error) {
	if b.cfg.Channel != "" {
		p, err := b.store.CurrentPoll(ctx, b.cfg.Channel)
		if err == nil {
			return &p, nil
		} else if !errors.Is(err, internbot.ErrNotFound) {
			return nil, err
		}
	}
	polls, err := b.store.Polls(ctx)
	if err != nil || len(polls) == 0 {
		return nil, err
	}
	return &polls[len(polls)-1], nil
}
