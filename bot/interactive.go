package bot

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// Interactivity arrives over Socket Mode as "interactive" envelopes (a button click, a modal
// submitted or closed, a shortcut). A declarative table, like the command table, says which handler
// takes which: block_actions by each action's action_id, the others by the callback_id of their
// view or shortcut. An id may carry an argument after a colon ("poll_answer:2"): the table's key is
// the part before it.
//
// Acks follow Slack's rules. Slack waits 3 s for one and shows the person an error without it. A
// handler acks through its interaction's ack, once: for block_actions empty (after whatever must be
// durable first, such as an answer); for view_submission it may carry a response_action (errors on
// fields, update, clear). Whatever the handler did not ack is acked empty when it returns, fails or
// panics, and an interaction no handler claims is acked empty at once.

// interactionHandler is one row of the interaction table.
type interactionHandler struct {
	kind slack.InteractionType
	// id is the action_id (block_actions) or callback_id (view_submission, view_closed, shortcut)
	// it takes, before any ":argument".
	id  string
	run func(b *run, ctx context.Context, in *interaction) error
}

// interactionTable lists every interaction the bot handles. The other surfaces (App Home, modals,
// shortcuts) add their rows here.
func interactionTable() []interactionHandler {
	return append([]interactionHandler{
		{kind: slack.InteractionTypeBlockActions, id: actionPollAnswer, run: (*run).onPollAnswer},
		{kind: slack.InteractionTypeBlockActions, id: actionPollForget, run: (*run).onPollForget},
	}, surfaceInteractions()...)
}

// interaction is one interactive payload on its way through a handler.
type interaction struct {
	cb *slack.InteractionCallback
	// action is the block action being handled (block_actions only); arg is what its action_id
	// carries after the colon.
	action *slack.BlockAction
	arg    string

	req      *socketmode.Request
	received time.Time
	b        *run
	once     sync.Once
	acked    bool
}

// ack acknowledges the envelope, with payload as the response (nil for none); only the first call
// counts.
func (in *interaction) ack(payload any) {
	in.once.Do(func() {
		in.acked = true
		in.b.ack(in.req, payload, in.received)
	})
}

// splitID is an action_id or callback_id as the table's key and its argument.
func splitID(id string) (key, arg string) {
	key, arg, _ = strings.Cut(id, ":")
	return key, arg
}

// lookupInteraction finds the handler for kind and id.
func (b *Bot) lookupInteraction(kind slack.InteractionType, id string) (interactionHandler, string, bool) {
	key, arg := splitID(id)
	for _, h := range b.interactions {
		if h.kind == kind && h.id == key {
			return h, arg, true
		}
	}
	return interactionHandler{}, "", false
}

// onInteractive dispatches an interactive envelope to its handler on a tracked goroutine: handlers
// write to the store and call the Web API, which the event loop never waits for.
func (b *run) onInteractive(ctx context.Context, evt socketmode.Event, received time.Time) {
	cb, ok := evt.Data.(slack.InteractionCallback)
	if !ok {
		b.ack(evt.Request, nil, received)
		return
	}
	in := &interaction{cb: &cb, req: evt.Request, received: received, b: b}
	var h interactionHandler
	var found bool
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		// A click carries one action; Slack's format allows a list, and the first one is the click.
		if len(cb.ActionCallback.BlockActions) > 0 {
			in.action = cb.ActionCallback.BlockActions[0]
			h, in.arg, found = b.lookupInteraction(cb.Type, in.action.ActionID)
		}
	case slack.InteractionTypeViewSubmission, slack.InteractionTypeViewClosed:
		h, in.arg, found = b.lookupInteraction(cb.Type, cb.View.CallbackID)
	default:
		h, in.arg, found = b.lookupInteraction(cb.Type, cb.CallbackID)
	}
	if !found {
		b.log.Debug("interaction with no handler acked", "type", cb.Type)
		in.ack(nil)
		return
	}
	name := "interaction_" + h.id
	b.goWork(name, nil, received, func() {
		defer in.ack(nil) // whatever the handler left unacked, panics included
		defer func() {
			if r := recover(); r != nil {
				b.recovered(name, r)
			}
		}()
		if err := h.run(b, ctx, in); err != nil {
			b.metrics.handlerError(name)
			b.log.Error("interaction failed", "type", cb.Type, "id", h.id, "user", cb.User.ID, "err", err)
			if !errors.Is(err, context.Canceled) {
				b.respond(ctx, cb.ResponseURL, textReply("Sorry, something went wrong. Please try again; if it keeps failing, tell an admin."))
			}
		}
	})
}
