package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/internbot/internbot"
	"github.com/internbot/internbot/config"
)

// Admin modals and the global shortcut. A modal opens with views.open and the trigger_id of the
// interaction or command that asked for it (good for 3 seconds, once). Its submission arrives as a
// view_submission, answered in the ack: response_action "errors" shows each problem on its field and
// keeps the modal open; an empty ack closes it.

// Callback ids of the modals and of the global shortcut (the manifest's callback_id).
const (
	callbackDeadlineAdd = "deadline_add"
	callbackPostPoll    = "post_poll"
)

// Block and action ids of the modals' inputs.
const (
	inputDeadlineName = "deadline_name"
	inputDeadlineDate = "deadline_date"
	inputPollChannel  = "poll_channel"
)

// surfaceInteractions are the rows of the interaction table for the App Home, the modals and the
// shortcut.
func surfaceInteractions() []interactionHandler {
	actions := slack.InteractionTypeBlockActions
	return []interactionHandler{
		{kind: actions, id: actionHomeRemind, run: (*run).onHomeRemind},
		{kind: actions, id: actionHomeDetails, run: (*run).onHomeDetails},
		{kind: actions, id: actionAdminClose, run: adminPollAction((*run).closeFromHome)},
		{kind: actions, id: actionAdminReopen, run: adminPollAction((*run).reopenFromHome)},
		{kind: actions, id: actionAdminExport, run: adminPollAction((*run).exportFromHome)},
		{kind: actions, id: actionAdminDeadline, run: (*run).onAdminDeadline},
		{kind: slack.InteractionTypeViewSubmission, id: callbackDeadlineAdd, run: (*run).onDeadlineSubmit},
		{kind: slack.InteractionTypeViewClosed, id: callbackDeadlineAdd, run: (*run).onModalClosed},
		{kind: slack.InteractionTypeShortcut, id: callbackPostPoll, run: (*run).onPostPollShortcut},
		{kind: slack.InteractionTypeViewSubmission, id: callbackPostPoll, run: (*run).onPostPollSubmit},
		{kind: slack.InteractionTypeViewClosed, id: callbackPostPoll, run: (*run).onModalClosed},
	}
}

// openModal opens view with triggerID. A trigger_id used late (Slack allows 3 seconds) or twice is
// refused by Slack; the person is told to try again rather than left with nothing.
func (b *run) openModal(ctx context.Context, triggerID string, view slack.ModalViewRequest) error {
	// A trigger_id lives 3 s: a 429 whose Retry-After outlasts it is not waited out (call gives a
	// caller with a deadline only the retries that fit in it).
	ctx, cancel := context.WithTimeout(ctx, triggerLife)
	defer cancel()
	err := b.call(ctx, "views.open", false, func(ctx context.Context) error {
		_, err := b.client.OpenViewContext(ctx, triggerID, view)
		return err
	})
	if err != nil {
		b.metrics.handlerError("views_open")
	}
	return err
}

// triggerLife is how long Slack accepts an interaction's trigger_id.
const triggerLife = 3 * time.Second

// deadlineModal asks for a deadline's name and date; privateMetadata is the channel to confirm in
// ("" for none, from the Home).
func deadlineModal(today config.Date, channel string) slack.ModalViewRequest {
	name := slack.NewPlainTextInputBlockElement(plainText("e.g. Applications close"), inputDeadlineName)
	name.MaxLength = maxDeadlineName
	date := slack.NewDatePickerBlockElement(inputDeadlineDate)
	date.InitialDate = today.String()
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: callbackDeadlineAdd, PrivateMetadata: channel, NotifyOnClose: true,
		Title: plainText("Add a deadline"), Submit: plainText("Add"), Close: plainText("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(inputDeadlineName, plainText("Name"), nil, name),
			slack.NewInputBlock(inputDeadlineDate, plainText("Date"), plainText("Reminders go out before it."), date),
		}},
	}
}

// openDeadlineModal is /internship deadline add with no arguments.
func (b *run) openDeadlineModal(ctx context.Context, r *request) (*reply, error) {
	if r.triggerID == "" {
		return textReply("Usage: `%s deadline add YYYY-MM-DD NAME…`", r.command), nil
	}
	if err := b.openModal(ctx, r.triggerID, deadlineModal(b.reminders.Today(), r.channel)); err != nil {
		b.log.Warn("could not open the deadline modal", "user", r.user, "err", err)
		return textReply("I couldn't open the form (Slack allows 3 seconds for that). Try again, or use `%s deadline add YYYY-MM-DD NAME…`.", r.command), nil
	}
	return &reply{}, nil // the modal is the answer: the ack says nothing
}

// viewErrors is the view_submission ack that shows errors on the modal's fields.
type viewErrors struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors"`
}

func fieldErrors(errs map[string]string) viewErrors {
	return viewErrors{ResponseAction: "errors", Errors: errs}
}

func stateValue(cb *slack.InteractionCallback, block, action string) slack.BlockAction {
	if cb.View.State == nil {
		return slack.BlockAction{}
	}
	return cb.View.State.Values[block][action]
}

// requireAdmin says whether the interaction's person is an admin; if not, or if it cannot tell, it
// has told them: as an error on field when there is one (a modal), else in a DM (a Home button or a
// shortcut has no channel to answer in).
func (b *run) requireAdmin(ctx context.Context, in *interaction, field string) bool {
	admin, err := b.isAdmin(ctx, in.cb.User.ID)
	if err == nil && admin {
		return true
	}
	msg := "Only admins can do this."
	if err != nil {
		b.log.Warn("admin check failed", "user", in.cb.User.ID, "err", err)
		msg = "I couldn't check whether you are an admin just now. Please try again in a minute."
	}
	if field != "" {
		in.ack(fieldErrors(map[string]string{field: msg}))
		return false
	}
	in.ack(nil)
	b.dm(ctx, in.cb.User.ID, msg)
	return false
}

func (b *run) onDeadlineSubmit(ctx context.Context, in *interaction) error {
	if !b.requireAdmin(ctx, in, inputDeadlineName) {
		return nil
	}
	name := cleanText(stateValue(in.cb, inputDeadlineName, inputDeadlineName).Value)
	dateText := stateValue(in.cb, inputDeadlineDate, inputDeadlineDate).SelectedDate
	errs := map[string]string{}
	date, err := config.ParseDate(dateText)
	nameErr, dateErr := b.deadlineProblems(name, date)
	switch {
	case dateText == "":
		dateErr = "Pick a date."
	case err != nil:
		dateErr = "That is not a date."
	}
	if nameErr != "" {
		errs[inputDeadlineName] = nameErr
	}
	if dateErr != "" {
		errs[inputDeadlineDate] = dateErr
	}
	today := b.reminders.Today()
	if len(errs) > 0 {
		in.ack(fieldErrors(errs))
		return nil
	}
	_, err = b.store.AddDeadline(ctx, internbot.Deadline{Name: name, Date: date.String(), CreatedBy: in.cb.User.ID})
	if errors.Is(err, internbot.ErrDuplicate) {
		in.ack(fieldErrors(map[string]string{inputDeadlineName: fmt.Sprintf("There is already a deadline called %q.", name)}))
		return nil
	} else if err != nil {
		in.ack(fieldErrors(map[string]string{inputDeadlineName: "I couldn't save it just now. Please try again."}))
		return err
	}
	in.ack(nil) // stored: the modal closes
	b.homes.changed()
	b.log.Info("deadline added", "name", name, "date", date, "by", in.cb.User.ID)
	if ch := in.cb.View.PrivateMetadata; ch != "" {
		b.ephemeral(ctx, ch, in.cb.User.ID, fmt.Sprintf("Added *%s* on %s (%s).", escape(name), longDate(date), daysLeft(today.DaysUntil(date))))
	}
	return nil
}

// onModalClosed: the person closed a modal without submitting it; nothing was stored, nothing to
// undo.
func (b *run) onModalClosed(_ context.Context, in *interaction) error {
	b.log.Debug("modal closed", "callback_id", in.cb.View.CallbackID, "user", in.cb.User.ID)
	return nil
}

// ephemeral shows text to user in channel; a failure is logged, not returned: what it confirms is
// already done.
func (b *run) ephemeral(ctx context.Context, channel, user, text string) {
	err := b.call(ctx, "chat.postEphemeral", false, func(ctx context.Context) error {
		_, err := b.client.PostEphemeralContext(ctx, channel, user, slack.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		b.log.Warn("ephemeral confirmation", "channel", channel, "user", user, "err", err)
	}
}

// onPostPollShortcut is the global shortcut "Post the internship poll": a modal to pick the channel.
func (b *run) onPostPollShortcut(ctx context.Context, in *interaction) error {
	in.ack(nil)
	if !b.requireAdmin(ctx, in, "") {
		return nil
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeConversations, plainText("Pick a channel"), inputPollChannel)
	sel.Filter = &slack.SelectBlockElementFilter{Include: []string{"public", "private"}, ExcludeBotUsers: true}
	view := slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: callbackPostPoll, NotifyOnClose: true,
		Title: plainText("Post the poll"), Submit: plainText("Post"), Close: plainText("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(inputPollChannel, plainText("Channel"), plainText("I must be a member of it: /invite @"+b.botName+" first."), sel),
		}},
	}
	if err := b.openModal(ctx, in.cb.TriggerID, view); err != nil {
		b.dm(ctx, in.cb.User.ID, "I couldn't open the form in time. Please run the shortcut again.")
		return nil
	}
	return nil
}

func (b *run) onPostPollSubmit(ctx context.Context, in *interaction) error {
	if !b.requireAdmin(ctx, in, inputPollChannel) {
		return nil
	}
	ch := stateValue(in.cb, inputPollChannel, inputPollChannel).SelectedConversation
	if ch == "" {
		in.ack(fieldErrors(map[string]string{inputPollChannel: "Pick a channel."}))
		return nil
	}
	member, err := b.botInChannel(ctx, ch)
	if err != nil {
		in.ack(fieldErrors(map[string]string{inputPollChannel: "I couldn't check that channel just now. Please try again."}))
		return err
	}
	if !member {
		in.ack(fieldErrors(map[string]string{inputPollChannel: fmt.Sprintf("I'm not in that channel, so I can't post there. Invite me with /invite @%s and try again.", b.botName)}))
		return nil
	}
	in.ack(nil)
	r, err := b.cmdPoll(ctx, &request{user: in.cb.User.ID, channel: ch, command: "/internship"})
	if err != nil {
		b.ephemeral(ctx, ch, in.cb.User.ID, "Sorry, I couldn't post the poll. Please try again; if it keeps failing, tell an admin.")
		return err
	}
	b.ephemeral(ctx, ch, in.cb.User.ID, r.Text)
	return nil
}

// dm sends user a direct message (for interactions that have no channel to answer in).
func (b *run) dm(ctx context.Context, user, text string) {
	err := b.call(ctx, "chat.postMessage", false, func(ctx context.Context) error {
		_, _, err := b.client.PostMessageContext(ctx, user, slack.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		b.log.Warn("dm", "user", user, "err", err)
	}
}

func (b *run) onHomeRemind(ctx context.Context, in *interaction) error {
	off := in.action.Value == "off"
	if err := b.store.SetRemindersOff(ctx, in.cb.User.ID, off); err != nil {
		return err
	}
	in.ack(nil)
	b.homes.changedFor(in.cb.User.ID)
	return nil
}

// onHomeDetails shows one posting section in a modal.
func (b *run) onHomeDetails(ctx context.Context, in *interaction) error {
	in.ack(nil)
	for i := range b.cfg.Posting.Sections {
		s := &b.cfg.Posting.Sections[i]
		if s.Key != in.action.Value {
			continue
		}
		blocks := sectionBlocks(s)
		if len(blocks) > maxViewBlocks {
			blocks = blocks[:maxViewBlocks]
		}
		view := slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "details", Title: plainText(truncate(s.Title, 24)),
			Close: plainText("Close"), Blocks: slack.Blocks{BlockSet: blocks}}
		return b.openModal(ctx, in.cb.TriggerID, view)
	}
	return nil
}

func (b *run) onAdminDeadline(ctx context.Context, in *interaction) error {
	in.ack(nil)
	if !b.requireAdmin(ctx, in, "") {
		return nil
	}
	if err := b.openModal(ctx, in.cb.TriggerID, deadlineModal(b.reminders.Today(), "")); err != nil {
		// A Home button has no response_url: say it in a DM.
		b.dm(ctx, in.cb.User.ID, "I couldn't open the form in time (Slack allows 3 seconds for that). Press *Add a deadline* again, or use `/internship deadline add YYYY-MM-DD NAME…`.")
		return err
	}
	return nil
}

// adminPollAction is a Home button an admin presses on one of the polls it lists (its value is the
// poll's id): acked at once, refused to non-admins and to admins not in the poll's channel (a stale
// Home, a forged value), then fn on the poll.
func adminPollAction(fn func(b *run, ctx context.Context, in *interaction, p internbot.Poll) error) func(*run, context.Context, *interaction) error {
	return func(b *run, ctx context.Context, in *interaction) error {
		in.ack(nil)
		if !b.requireAdmin(ctx, in, "") {
			return nil
		}
		p, _, err := b.valuePoll(ctx, in.cb.User.ID, in.action.Value)
		switch {
		case errors.Is(err, errNotMember):
			b.dm(ctx, in.cb.User.ID, notMemberText)
			return nil
		case errors.Is(err, internbot.ErrNotFound):
			b.dm(ctx, in.cb.User.ID, "That poll is gone.")
			return nil
		case err != nil:
			return err
		}
		return fn(b, ctx, in, p)
	}
}

func (b *run) closeFromHome(ctx context.Context, _ *interaction, p internbot.Poll) error {
	_, err := b.closePoll(ctx, p.ID)
	return err
}

// exportFromHome uploads the poll's CSV to the admin's DM.
func (b *run) exportFromHome(ctx context.Context, in *interaction, p internbot.Poll) error {
	return b.exportToDM(ctx, in.cb.User.ID, p)
}

// reopenFromHome reopens a closed poll that is still its channel's newest; one a newer poll has
// replaced stays closed, and the admin is told why.
func (b *run) reopenFromHome(ctx context.Context, in *interaction, p internbot.Poll) error {
	p, err := b.store.ReopenPoll(ctx, p.ID)
	if errors.Is(err, internbot.ErrSuperseded) {
		b.dm(ctx, in.cb.User.ID, fmt.Sprintf("A newer poll has replaced that one in <#%s>, so it stays closed.", p.Channel))
		b.homes.changedFor(in.cb.User.ID)
		return nil
	} else if err != nil {
		return err
	}
	b.polls.put(p)
	b.updates.mark(p.ID)
	// Reactions added while it was closed were not counted: read them back.
	if err := b.reconcilePoll(ctx, p); err != nil {
		b.log.Warn("could not read the reopened poll's reactions back", "err", err)
	}
	return nil
}
